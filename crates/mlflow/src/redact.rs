//! The one scrubber of text that came from elsewhere (a registry's error body, an object
//! store's message) before it is logged or kept: a registry or a proxy that echoes the request
//! would otherwise copy our credentials into logs and into answers.
//!
//! Two passes, so that neither depends on the other:
//! - the secrets this process was configured with, verbatim (and percent-encoded), so a token
//!   is caught whatever surrounds it;
//! - credential-shaped text whatever its value: `Authorization:` / `Proxy-Authorization:` /
//!   `Cookie:` values, `Bearer <token>`, `Basic <base64>`, `token=` / `password=` /
//!   `secret`-like query or JSON fields, and `user:password@` in URLs.
//!
//! It errs towards hiding too much: a masked word costs a little debugging, a leaked token
//! costs a rotation.

use std::fmt;
use std::sync::Arc;

/// What a secret is replaced with.
pub(crate) const MASK: &str = "***";

/// Shorter configured secrets are not replaced verbatim: masking every `ab` would garble the
/// message while protecting nothing (such a secret is no secret).
const MIN_SECRET_LEN: usize = 4;

/// Scrubs text of known secrets and of anything shaped like a credential. Cheap to clone.
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    /// Longest first, so that a secret containing another is replaced whole.
    secrets: Arc<[String]>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

impl Redactor {
    /// A redactor of `secrets` (and of their percent-encoded forms, as a URL would carry them),
    /// on top of the credential shapes it always masks.
    pub(crate) fn new<S: AsRef<str>>(secrets: impl IntoIterator<Item = S>) -> Self {
        let mut all: Vec<String> = Vec::new();
        for secret in secrets {
            let secret = secret.as_ref();
            if secret.len() < MIN_SECRET_LEN {
                continue;
            }
            let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
            if encoded != secret {
                all.push(encoded);
            }
            all.push(secret.to_owned());
        }
        all.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        all.dedup();
        Self {
            secrets: all.into(),
        }
    }

    /// `text` with every configured secret and every credential-shaped value replaced by
    /// [`MASK`].
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in self.secrets.iter() {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), MASK);
            }
        }
        mask_userinfo(&mask_fields(&text))
    }
}

/// What kind of value follows a word, if it is a credential's name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    /// `Authorization`, `Cookie`: the value runs to the end of the line (it has spaces).
    Header,
    /// `Bearer`, `Basic`: a scheme, followed by a space and the credential.
    Scheme,
    /// `token`, `password`, `...secret...`: a query or JSON field, the value runs to a
    /// delimiter.
    Named,
}

/// Parts of a field name that mark its value as a credential (compared lower-cased).
const NAMED: [&str; 14] = [
    "token",
    "password",
    "passwd",
    "pwd",
    "secret",
    "apikey",
    "api_key",
    "api-key",
    "accountkey",
    "access_key",
    "accesskey",
    "private_key",
    "signature",
    "credential",
];

fn classify(word: &str) -> Option<Field> {
    let lower = word.to_ascii_lowercase();
    if lower == "bearer" || lower == "basic" {
        Some(Field::Scheme)
    } else if lower.contains("authorization") || lower.contains("cookie") {
        Some(Field::Header)
    } else if lower == "sig" || NAMED.iter().any(|name| lower.contains(name)) {
        Some(Field::Named)
    } else {
        None
    }
}

/// Bytes of a field name or header name.
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// Bytes of a bearer token or a base64 blob (RFC 6750's `b64token`, plus `%` for encodings).
fn is_credential(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/=%".contains(&b)
}

fn is_quote(b: u8) -> bool {
    b == b'"' || b == b'\''
}

/// Masks the values of credential-shaped fields (see the module's documentation).
fn mask_fields(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !is_word(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_word(bytes[i]) {
            i += 1;
        }
        let Some(field) = classify(&text[start..i]) else {
            continue;
        };
        if let Some((from, to)) = value_after(bytes, i, field) {
            // Every index here sits on an ASCII byte or the end, so slicing is on char bounds.
            out.push_str(&text[copied..from]);
            out.push_str(MASK);
            copied = to;
            i = to;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// The byte range of the value that follows a credential's name ending at `i`, if one does.
fn value_after(bytes: &[u8], mut i: usize, field: Field) -> Option<(usize, usize)> {
    let skip = |i: &mut usize, what: &dyn Fn(u8) -> bool| {
        while *i < bytes.len() && what(bytes[*i]) {
            *i += 1;
        }
    };
    if field == Field::Scheme {
        let before = i;
        skip(&mut i, &|b| b == b' ' || b == b'\t');
        if i == before {
            return None;
        }
        let from = i;
        skip(&mut i, &is_credential);
        return (i > from).then_some((from, i));
    }
    // The name's closing quote (escaped, when the text is JSON inside JSON), then `:` or `=`.
    skip(&mut i, &|b| is_quote(b) || b == b'\\');
    skip(&mut i, &|b| b == b' ' || b == b'\t');
    if i >= bytes.len() || !matches!(bytes[i], b':' | b'=') {
        return None;
    }
    i += 1;
    skip(&mut i, &|b| b == b' ' || b == b'\t');
    let quoted = bytes.get(i).is_some_and(|&b| is_quote(b) || b == b'\\');
    skip(&mut i, &|b| is_quote(b) || b == b'\\');
    let from = i;
    let ends = |b: u8| match (quoted, field) {
        (true, _) => is_quote(b) || b == b'\\' || b == b'\n' || b == b'\r',
        (false, Field::Header) => b == b'\n' || b == b'\r',
        (false, _) => b.is_ascii_whitespace() || b"&,;\"'<>()[]{}\\".contains(&b),
    };
    skip(&mut i, &|b| !ends(b));
    (i > from).then_some((from, i))
}

/// Masks the `user:password` of every `scheme://user:password@host` in `text`.
fn mask_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let start = at + 3;
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let authority_end = rest
            .find(|c: char| c.is_whitespace() || "/?#\"'<>\\".contains(c))
            .unwrap_or(rest.len());
        if let Some(userinfo_end) = rest[..authority_end].rfind('@')
            && userinfo_end > 0
        {
            out.push_str(MASK);
            rest = &rest[userinfo_end..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "tok-SECRET-4f9a8b7c6d5e";
    /// base64("bob:pw-SECRET-77"), as reqwest sends it.
    const BASIC: &str = "Ym9iOnB3LVNFQ1JFVC03Nw==";

    fn redactor() -> Redactor {
        Redactor::new([TOKEN, "pw-SECRET-77", BASIC])
    }

    fn assert_clean(scrubbed: &str) {
        for leaked in [TOKEN, "pw-SECRET-77", BASIC, "SECRET", "Ym9i"] {
            assert!(!scrubbed.contains(leaked), "{leaked} in {scrubbed}");
        }
    }

    #[test]
    fn a_body_echoing_the_request_headers_keeps_nothing_of_the_credentials() {
        // What an echo server, a debugging proxy or a framework's error page sends back.
        let bodies = [
            format!(
                "GET /api/2.0/mlflow/registered-models/alias HTTP/1.1\r\nhost: mlflow\r\n\
                 authorization: Bearer {TOKEN}\r\naccept: */*\r\n\r\n"
            ),
            format!(r#"{{"headers": {{"Authorization": "Basic {BASIC}", "Host": "mlflow"}}}}"#),
            format!(
                r#"{{"detail": "{{\"headers\": {{\"Proxy-Authorization\": \"Bearer {TOKEN}\"}}}}"}}"#
            ),
            format!("<tr><td>HTTP_AUTHORIZATION</td><td>Bearer {TOKEN}</td></tr>"),
            format!("{{'authorization': 'Basic {BASIC}', 'user-agent': 'legendary/0.1.0'}}"),
            format!("upstream said: invalid credentials bob:pw-SECRET-77 for Bearer {TOKEN}"),
            "redirected to https://bob:pw-SECRET-77@mlflow.example/api?x=1".to_owned(),
            "https://bob:pw%2DSECRET%2D77@mlflow.example/".to_owned(),
        ];
        let redactor = redactor();
        for body in &bodies {
            let scrubbed = redactor.scrub(body);
            assert_clean(&scrubbed);
            assert!(scrubbed.contains(MASK), "{scrubbed}");
        }
        // What is not a credential stays readable.
        let scrubbed = redactor.scrub(&bodies[0]);
        assert!(scrubbed.contains("host: mlflow\r\n"), "{scrubbed}");
        assert!(scrubbed.contains("accept: */*"), "{scrubbed}");
        let scrubbed = redactor.scrub(&bodies[1]);
        assert!(scrubbed.contains(r#""Host": "mlflow""#), "{scrubbed}");
    }

    #[test]
    fn credential_shapes_are_masked_without_knowing_the_secret() {
        let nobody = Redactor::default();
        for (text, kept) in [
            ("Authorization: Bearer abc.def-ghi", "Authorization: ***"),
            ("Bearer abc.def-ghi failed", "Bearer *** failed"),
            (
                "WWW-Authenticate: Basic realm",
                "WWW-Authenticate: Basic ***",
            ),
            (
                "GET /x?token=abc123&name=pokemon",
                "GET /x?token=***&name=pokemon",
            ),
            (
                r#"{"password": "hunter22", "user": "bob"}"#,
                r#"{"password": "***", "user": "bob"}"#,
            ),
            ("client_secret=s3cr3t; path=/", "client_secret=***; path=/"),
            (
                "X-Amz-Security-Token: FQoG/x+y==",
                "X-Amz-Security-Token: ***",
            ),
            (
                "AccountName=acct;AccountKey=a2V5==;",
                "AccountName=acct;AccountKey=***;",
            ),
            ("?sv=2024&sig=abc%2Bdef&se=1", "?sv=2024&sig=***&se=1"),
            ("Cookie: session=abc; theme=dark", "Cookie: ***"),
            ("http://bob:hunter22@host:5000/x", "http://***@host:5000/x"),
        ] {
            assert_eq!(nobody.scrub(text), kept, "{text}");
        }
    }

    #[test]
    fn ordinary_messages_are_left_alone() {
        let nobody = Redactor::default();
        for text in [
            "Registered Model with name=pokemon not found",
            "RESOURCE_DOES_NOT_EXIST: invalid token",
            "[Errno 2] No such file or directory: '/mlartifacts/1/model.json'",
            "Pokémon № 150 — Mewtwo: résumé",
            "see http://mlflow:5000/#/models?x=a@b",
            "",
        ] {
            assert_eq!(nobody.scrub(text), text);
        }
    }

    #[test]
    fn configured_secrets_go_whatever_surrounds_them() {
        let redactor = Redactor::new(["abc", "s3-SECRET-1", "s3-SECRET-1-longer"]);
        assert_eq!(
            redactor.scrub("abc s3-SECRET-1-longer|s3-SECRET-1|s3%2DSECRET"),
            "abc ***|***|s3%2DSECRET"
        );
        assert_eq!(format!("{redactor:?}"), "Redactor { secrets: 2 }");
        let encoded = Redactor::new(["p@ss word!"]);
        assert_eq!(encoded.scrub("x p%40ss+word%21 y"), "x *** y");
    }
}
