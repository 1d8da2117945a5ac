//! The skops format (`model.skops`, MLflow 3's default): a zip of `schema.json`, a tree of
//! typed nodes, and one `.npy` file per array. The schema is turned into the same inert
//! [`Heap`] the pickle reader builds, so one extraction serves both. Only the node kinds a
//! tree model uses are read; a function, method or unknown class is refused by name. Every
//! zip entry is read through a cap, whatever size it declares, and the total is capped too.

use std::collections::{HashMap, HashSet};
use std::io::{Cursor, Read};
use std::rc::Rc;

use serde_json::Value as Json;

use super::value::{Array, ArrayData, Dtype, Global, Heap, Obj, Value, resolve};
use super::{SklearnError, SklearnLimits, npy};

fn bad(message: impl Into<String>) -> SklearnError {
    SklearnError::Malformed(format!("skops: {}", message.into()))
}

/// Deepest nesting of schema nodes read (a forest is about 8 deep).
const MAX_DEPTH: usize = 64;

/// Reads a `model.skops` archive into a heap and its top value.
///
/// # Errors
/// [`SklearnError`] for a broken zip, a schema node this reader does not accept, or a limit.
pub(crate) fn read(bytes: &[u8], limits: &SklearnLimits) -> Result<(Heap, Value), SklearnError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| bad(format!("not a zip archive: {e}")))?;
    if zip.len() > limits.max_zip_entries {
        return Err(SklearnError::Limit(format!(
            "the archive has {} entries, more than {} (SklearnLimits::max_zip_entries)",
            zip.len(),
            limits.max_zip_entries
        )));
    }
    let mut reader = Reader {
        zip: &mut zip,
        limits,
        unpacked: 0,
        heap: Heap::default(),
        ids: HashMap::new(),
        by_id: HashMap::new(),
        open: HashSet::new(),
        files: HashMap::new(),
        copied: 0,
    };
    let schema = reader.entry("schema.json")?;
    let schema: Json =
        serde_json::from_slice(&schema).map_err(|e| bad(format!("schema.json: {e}")))?;
    if let Some(protocol) = schema.get("protocol").and_then(Json::as_u64)
        && protocol > 3
    {
        return Err(bad(format!(
            "schema protocol {protocol} is newer than this reader"
        )));
    }
    index(&schema, &mut reader.by_id, 0);
    let top = reader.node(&schema, 0)?;
    Ok((reader.heap, top))
}

/// Every node with an `__id__` that is not itself a back-reference, so a `CachedNode` can be
/// resolved wherever serde_json's key order put its first occurrence.
fn index<'j>(node: &'j Json, by_id: &mut HashMap<u64, &'j Json>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match node {
        Json::Object(map) => {
            if let Some(id) = map.get("__id__").and_then(Json::as_u64)
                && map.get("__loader__").and_then(Json::as_str) != Some("CachedNode")
            {
                by_id.entry(id).or_insert(node);
            }
            for v in map.values() {
                index(v, by_id, depth + 1);
            }
        }
        Json::Array(items) => items.iter().for_each(|v| index(v, by_id, depth + 1)),
        _ => {}
    }
}

struct Reader<'a, 'j> {
    zip: &'a mut zip::ZipArchive<Cursor<&'a [u8]>>,
    limits: &'a SklearnLimits,
    unpacked: u64,
    heap: Heap,
    /// Values already built, by skops `__id__`: a shared object stays one object.
    ids: HashMap<u64, Value>,
    by_id: HashMap<u64, &'j Json>,
    /// Ids being built, to refuse a node that contains itself.
    open: HashSet<u64>,
    files: HashMap<String, Value>,
    /// Values copied out of shared tuples, counted against `max_values`.
    copied: usize,
}

impl<'j> Reader<'_, 'j> {
    /// One entry, read through the remaining budget (not its declared size).
    fn entry(&mut self, name: &str) -> Result<Vec<u8>, SklearnError> {
        let budget = self.limits.max_unpacked_bytes.saturating_sub(self.unpacked);
        let file = self
            .zip
            .by_name(name)
            .map_err(|e| bad(format!("entry '{name}': {e}")))?;
        let mut bytes = Vec::new();
        file.take(budget.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| bad(format!("entry '{name}': {e}")))?;
        self.unpacked += bytes.len() as u64;
        if self.unpacked > self.limits.max_unpacked_bytes {
            return Err(SklearnError::Limit(format!(
                "the archive unpacks to more than {} bytes (SklearnLimits::max_unpacked_bytes)",
                self.limits.max_unpacked_bytes
            )));
        }
        Ok(bytes)
    }

    fn alloc(&mut self, obj: Obj) -> Result<Value, SklearnError> {
        if self.heap.objs.len() >= self.limits.max_values {
            return Err(SklearnError::Limit(format!(
                "the schema has more than {} objects (SklearnLimits::max_values)",
                self.limits.max_values
            )));
        }
        Ok(self.heap.alloc(obj))
    }

    fn node(&mut self, node: &'j Json, depth: usize) -> Result<Value, SklearnError> {
        if depth > MAX_DEPTH {
            return Err(bad("the schema nests too deep"));
        }
        let loader = node.get("__loader__").and_then(Json::as_str).unwrap_or("");
        let id = node.get("__id__").and_then(Json::as_u64);
        if let Some(id) = id {
            if let Some(v) = self.ids.get(&id) {
                return Ok(v.clone());
            }
            if loader == "CachedNode" {
                let target = *self
                    .by_id
                    .get(&id)
                    .ok_or_else(|| bad(format!("CachedNode {id} refers to nothing")))?;
                return self.node(target, depth + 1);
            }
            if !self.open.insert(id) {
                return Err(bad(format!("node {id} contains itself")));
            }
        }
        let value = self.build(node, loader, depth)?;
        if let Some(id) = id {
            self.open.remove(&id);
            self.ids.insert(id, value.clone());
        }
        Ok(value)
    }

    fn children(&mut self, node: &'j Json, depth: usize) -> Result<Vec<Value>, SklearnError> {
        let items = node
            .get("content")
            .and_then(Json::as_array)
            .ok_or_else(|| bad("a sequence node has no content list"))?;
        items.iter().map(|c| self.node(c, depth + 1)).collect()
    }

    fn build(&mut self, node: &'j Json, loader: &str, depth: usize) -> Result<Value, SklearnError> {
        let class = || {
            let module = node.get("__module__").and_then(Json::as_str).unwrap_or("?");
            let name = node.get("__class__").and_then(Json::as_str).unwrap_or("?");
            (module.to_owned(), name.to_owned())
        };
        match loader {
            "JsonNode" => {
                let text = node
                    .get("content")
                    .and_then(Json::as_str)
                    .ok_or_else(|| bad("JsonNode without content"))?;
                let json: Json = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
                self.json(&json, depth)
            }
            "ListNode" => {
                let items = self.children(node, depth)?;
                self.alloc(Obj::List(items))
            }
            "TupleNode" => {
                let items = self.children(node, depth)?;
                self.alloc(Obj::Tuple(items))
            }
            "SetNode" => {
                let items = self.children(node, depth)?;
                self.alloc(Obj::Set(items))
            }
            "DictNode" => {
                let map = node
                    .get("content")
                    .and_then(Json::as_object)
                    .ok_or_else(|| bad("DictNode without content"))?;
                let mut items = Vec::with_capacity(map.len());
                for (k, v) in map {
                    items.push((Value::Str(Rc::from(k.as_str())), self.node(v, depth + 1)?));
                }
                self.alloc(Obj::Dict(items))
            }
            "TypeNode" => {
                let (module, name) = class();
                Ok(Value::Str(Rc::from(format!("{module}.{name}"))))
            }
            "NdArrayNode" => self.array(node, depth),
            "ObjectNode" | "TreeNode" | "ReduceNode" => {
                let (module, name) = class();
                let Global::Class(class) = resolve(&module, &name)? else {
                    return Err(SklearnError::NotAllowed(format!("{module}.{name}")));
                };
                let args = match node.get("__reduce__").and_then(|r| r.get("args")) {
                    Some(args) => {
                        let args = self.node(args, depth + 1)?;
                        let args = self
                            .heap
                            .seq(&args)
                            .map(<[Value]>::to_vec)
                            .unwrap_or_default();
                        // A copy, which a shared (cached) tuple could make many times.
                        self.copied += args.len();
                        if self.copied > self.limits.max_values {
                            return Err(SklearnError::Limit(format!(
                                "the schema copies more than {} values (SklearnLimits::max_values)",
                                self.limits.max_values
                            )));
                        }
                        args
                    }
                    None => Vec::new(),
                };
                let state = match node.get("content") {
                    Some(content) => Some(self.node(content, depth + 1)?),
                    None => None,
                };
                self.alloc(Obj::Instance { class, args, state })
            }
            _ => {
                let (module, name) = class();
                resolve(&module, &name)?;
                Err(SklearnError::NotSupported(format!(
                    "{module}.{name} (skops {loader})"
                )))
            }
        }
    }

    /// A `JsonNode`'s decoded content.
    fn json(&mut self, json: &Json, depth: usize) -> Result<Value, SklearnError> {
        if depth > MAX_DEPTH {
            return Err(bad("JSON nests too deep"));
        }
        Ok(match json {
            Json::Null => Value::None,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Json::String(s) => Value::Str(Rc::from(s.as_str())),
            Json::Array(items) => {
                let items = items
                    .iter()
                    .map(|v| self.json(v, depth + 1))
                    .collect::<Result<_, _>>()?;
                self.alloc(Obj::List(items))?
            }
            Json::Object(map) => {
                let mut items = Vec::with_capacity(map.len());
                for (k, v) in map {
                    items.push((Value::Str(Rc::from(k.as_str())), self.json(v, depth + 1)?));
                }
                self.alloc(Obj::Dict(items))?
            }
        })
    }

    /// An array (or a numpy scalar, stored as a 0-d array).
    fn array(&mut self, node: &'j Json, depth: usize) -> Result<Value, SklearnError> {
        let module = node.get("__module__").and_then(Json::as_str).unwrap_or("");
        let name = node.get("__class__").and_then(Json::as_str).unwrap_or("");
        if module != "numpy" {
            return Err(SklearnError::NotAllowed(format!("{module}.{name}")));
        }
        match node.get("type").and_then(Json::as_str) {
            Some("numpy") => {
                let file = node
                    .get("file")
                    .and_then(Json::as_str)
                    .ok_or_else(|| bad("array without a file"))?;
                if let Some(v) = self.files.get(file) {
                    return Ok(v.clone());
                }
                let bytes = self.entry(file)?;
                let array = npy::read(&bytes)?;
                let value = if name == "ndarray" {
                    self.alloc(Obj::Array(array))?
                } else {
                    let ArrayData::Raw(raw) = &array.data else {
                        return Err(bad("a numpy scalar without bytes"));
                    };
                    super::extract::scalar(&array.dtype, raw)?
                };
                self.files.insert(file.to_owned(), value.clone());
                Ok(value)
            }
            Some("json") => {
                let items = self.children(node, depth)?;
                let array = Array {
                    dtype: Dtype::parse("O8")?,
                    shape: vec![items.len()],
                    fortran: false,
                    data: ArrayData::Objects(items),
                };
                self.alloc(Obj::Array(array))
            }
            _ => Err(bad("an array node of unknown type")),
        }
    }
}
