//! The inert value tree both readers build: what a pickle or a skops schema says, with
//! nothing constructed. Containers live in one arena and are referred to by index, so a
//! pickle that puts a list inside itself (the memo allows it) costs one slot, not a loop.

use std::rc::Rc;

use super::SklearnError;

/// A value: a scalar held inline, or a reference into the [`Heap`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Rc<str>),
    Bytes(Rc<[u8]>),
    Ref(usize),
}

/// What a [`Value::Ref`] points at.
#[derive(Debug)]
pub(crate) enum Obj {
    List(Vec<Value>),
    Tuple(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    Set(Vec<Value>),
    /// One of the few globals the reader accepts; never called, only recognised.
    Global(Global),
    /// An instance of an accepted class: its constructor arguments and BUILD state, kept.
    Instance {
        class: Class,
        args: Vec<Value>,
        state: Option<Value>,
    },
    Array(Array),
    Dtype(Dtype),
}

/// The globals a pickle may name. Anything else is refused when it is named, before any
/// argument is read for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Global {
    /// `numpy.core.multiarray._reconstruct`: an empty array, filled by BUILD.
    Reconstruct,
    /// `numpy.core.numeric._frombuffer`: an array from bytes, dtype, shape and order.
    FromBuffer,
    /// `numpy.ndarray`, only as `_reconstruct`'s first argument.
    Ndarray,
    /// `numpy.dtype`: a dtype from its type string, completed by BUILD.
    Dtype,
    /// `numpy.core.multiarray.scalar`: a numpy scalar from a dtype and its bytes.
    Scalar,
    /// `copyreg._reconstructor`: an instance of a class without calling `__init__`.
    Reconstructor,
    /// `builtins.object`, only as `_reconstructor`'s base.
    Object,
    /// `_codecs.encode`: how protocol 2 spells bytes (`encode(text, "latin1")`).
    Encode,
    /// An estimator or `Tree` class.
    Class(Class),
}

/// The scikit-learn classes read (the singular `ExtraTree*` are an extra-trees forest's trees).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// `sklearn.ensemble.RandomForestClassifier`.
    RandomForestClassifier,
    /// `sklearn.ensemble.ExtraTreesClassifier`.
    ExtraTreesClassifier,
    /// `sklearn.tree.DecisionTreeClassifier`.
    DecisionTreeClassifier,
    /// `sklearn.tree.ExtraTreeClassifier`.
    ExtraTreeClassifier,
    /// `sklearn.ensemble.RandomForestRegressor`.
    RandomForestRegressor,
    /// `sklearn.ensemble.ExtraTreesRegressor`.
    ExtraTreesRegressor,
    /// `sklearn.tree.DecisionTreeRegressor`.
    DecisionTreeRegressor,
    /// `sklearn.tree.ExtraTreeRegressor`.
    ExtraTreeRegressor,
    /// `sklearn.tree._tree.Tree`, the node arrays.
    Tree,
}

impl Class {
    const ALL: [Self; 9] = [
        Self::RandomForestClassifier,
        Self::ExtraTreesClassifier,
        Self::DecisionTreeClassifier,
        Self::ExtraTreeClassifier,
        Self::RandomForestRegressor,
        Self::ExtraTreesRegressor,
        Self::DecisionTreeRegressor,
        Self::ExtraTreeRegressor,
        Self::Tree,
    ];

    /// The class named `name`, as scikit-learn spells it.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The class's name, as scikit-learn spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::RandomForestClassifier => "RandomForestClassifier",
            Self::ExtraTreesClassifier => "ExtraTreesClassifier",
            Self::DecisionTreeClassifier => "DecisionTreeClassifier",
            Self::ExtraTreeClassifier => "ExtraTreeClassifier",
            Self::RandomForestRegressor => "RandomForestRegressor",
            Self::ExtraTreesRegressor => "ExtraTreesRegressor",
            Self::DecisionTreeRegressor => "DecisionTreeRegressor",
            Self::ExtraTreeRegressor => "ExtraTreeRegressor",
            Self::Tree => "Tree",
        }
    }

    /// Modules the class has lived in, 0.21 to today.
    fn modules(self) -> &'static [&'static str] {
        match self {
            Self::RandomForestClassifier
            | Self::ExtraTreesClassifier
            | Self::RandomForestRegressor
            | Self::ExtraTreesRegressor => &["sklearn.ensemble._forest", "sklearn.ensemble.forest"],
            Self::Tree => &["sklearn.tree._tree"],
            _ => &["sklearn.tree._classes", "sklearn.tree.tree"],
        }
    }

    /// Whether instances predict classes.
    pub fn is_classifier(self) -> bool {
        matches!(
            self,
            Self::RandomForestClassifier
                | Self::ExtraTreesClassifier
                | Self::DecisionTreeClassifier
                | Self::ExtraTreeClassifier
        )
    }

    /// Whether instances are one tree (not a forest of them).
    pub fn is_single_tree(self) -> bool {
        matches!(
            self,
            Self::DecisionTreeClassifier
                | Self::ExtraTreeClassifier
                | Self::DecisionTreeRegressor
                | Self::ExtraTreeRegressor
        )
    }
}

/// Resolves `module.name` to an accepted global, or says why not: a scikit-learn class is
/// "not supported", anything else "not allowed".
///
/// # Errors
/// [`SklearnError::NotSupported`] or [`SklearnError::NotAllowed`], naming the global.
pub(crate) fn resolve(module: &str, name: &str) -> Result<Global, SklearnError> {
    let numpy =
        |sub: &str| module == format!("numpy.core.{sub}") || module == format!("numpy._core.{sub}");
    let global = match name {
        "_reconstruct" if numpy("multiarray") => Global::Reconstruct,
        "scalar" if numpy("multiarray") => Global::Scalar,
        "_frombuffer" if numpy("numeric") => Global::FromBuffer,
        "ndarray" if module == "numpy" => Global::Ndarray,
        "dtype" if module == "numpy" => Global::Dtype,
        "_reconstructor" if module == "copyreg" || module == "copy_reg" => Global::Reconstructor,
        "object" if module == "builtins" || module == "__builtin__" => Global::Object,
        "encode" if module == "_codecs" => Global::Encode,
        _ => match Class::ALL
            .into_iter()
            .find(|c| c.name() == name && c.modules().contains(&module))
        {
            Some(class) => Global::Class(class),
            None if module == "sklearn" || module.starts_with("sklearn.") => {
                return Err(SklearnError::NotSupported(format!("{module}.{name}")));
            }
            None => return Err(SklearnError::NotAllowed(format!("{module}.{name}"))),
        },
    };
    Ok(global)
}

/// A numpy dtype, as far as tree models need one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Dtype {
    /// numpy's kind letter: `b`, `i`, `u`, `f`, `U`, `S`, `O` or `V`.
    pub(crate) kind: u8,
    /// Bytes per item.
    pub(crate) size: usize,
    /// Byte order of multi-byte items (numpy's `<`, or `|`/`=` on the little-endian
    /// machines these files come from).
    pub(crate) big_endian: bool,
    /// A record's fields: name, dtype, offset.
    pub(crate) fields: Vec<(String, Dtype, usize)>,
}

/// Largest item a dtype may declare (a 1.3+ node record is 64 bytes).
const MAX_ITEM_BYTES: usize = 4096;

impl Dtype {
    /// Parses a numpy type string: `f8`, `<i8`, `|b1`, `O8`, `<U20`, `V64`.
    ///
    /// # Errors
    /// [`SklearnError::Malformed`] for a type tree models never hold.
    pub(crate) fn parse(typestr: &str) -> Result<Self, SklearnError> {
        let bad = || SklearnError::Malformed(format!("numpy dtype '{typestr}' is not supported"));
        let (big_endian, rest) = match typestr.as_bytes().first() {
            Some(b'>') => (true, &typestr[1..]),
            Some(b'<' | b'|' | b'=') => (false, &typestr[1..]),
            _ => (false, typestr),
        };
        let mut chars = rest.chars();
        let kind = chars.next().ok_or_else(bad)?;
        let digits = chars.as_str();
        let count: usize = if digits.is_empty() && kind == 'O' {
            8
        } else {
            digits.parse().map_err(|_| bad())?
        };
        let size = match kind {
            'b' | 'i' | 'u' | 'f' | 'O' | 'S' | 'V' => count,
            'U' => count.checked_mul(4).ok_or_else(bad)?,
            _ => return Err(bad()),
        };
        if size > MAX_ITEM_BYTES {
            return Err(bad());
        }
        Ok(Self {
            kind: kind as u8,
            size,
            big_endian,
            fields: Vec::new(),
        })
    }

    /// The field called `name`, with its offset.
    pub(crate) fn field(&self, name: &str) -> Option<(&Dtype, usize)> {
        self.fields
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, d, o)| (d, *o))
    }
}

/// A numpy array: its dtype, shape and items (bytes, or values for an object array).
#[derive(Debug, Clone)]
pub(crate) struct Array {
    pub(crate) dtype: Dtype,
    pub(crate) shape: Vec<usize>,
    pub(crate) fortran: bool,
    pub(crate) data: ArrayData,
}

/// An array's items.
#[derive(Debug, Clone)]
pub(crate) enum ArrayData {
    /// Not yet filled (after `_reconstruct`, before BUILD).
    Empty,
    /// Packed items, `dtype.size` bytes each.
    Raw(Rc<[u8]>),
    /// An object array's items (strings, for `classes_` and `feature_names_in_`).
    Objects(Vec<Value>),
}

impl Array {
    /// Number of items the shape declares, checked against overflow.
    pub(crate) fn len(&self) -> Result<usize, SklearnError> {
        self.shape
            .iter()
            .try_fold(1_usize, |n, &d| n.checked_mul(d))
            .ok_or_else(|| {
                SklearnError::Malformed(format!("array shape {:?} overflows", self.shape))
            })
    }

    /// Checks that the items are exactly what the shape and dtype declare.
    pub(crate) fn check(&self) -> Result<(), SklearnError> {
        let n = self.len()?;
        let ok = match &self.data {
            ArrayData::Empty => false,
            ArrayData::Raw(bytes) => n.checked_mul(self.dtype.size) == Some(bytes.len()),
            ArrayData::Objects(items) => self.dtype.kind == b'O' && items.len() == n,
        };
        if ok {
            Ok(())
        } else {
            Err(SklearnError::Malformed(format!(
                "array of shape {:?} and {}-byte items does not hold that many items",
                self.shape, self.dtype.size
            )))
        }
    }
}

/// The arena of containers, arrays and instances.
#[derive(Debug, Default)]
pub(crate) struct Heap {
    pub(crate) objs: Vec<Obj>,
}

impl Heap {
    /// Stores `obj`, returning a reference to it.
    pub(crate) fn alloc(&mut self, obj: Obj) -> Value {
        self.objs.push(obj);
        Value::Ref(self.objs.len() - 1)
    }

    /// What `value` refers to, if it is a reference.
    pub(crate) fn get(&self, value: &Value) -> Option<&Obj> {
        match value {
            Value::Ref(i) => self.objs.get(*i),
            _ => None,
        }
    }

    /// The mutable object `value` refers to.
    pub(crate) fn get_mut(&mut self, value: &Value) -> Option<&mut Obj> {
        match value {
            Value::Ref(i) => self.objs.get_mut(*i),
            _ => None,
        }
    }

    /// Items of a tuple or list.
    pub(crate) fn seq(&self, value: &Value) -> Option<&[Value]> {
        match self.get(value)? {
            Obj::Tuple(items) | Obj::List(items) => Some(items),
            _ => None,
        }
    }

    /// The value stored under the string key `key` of a dict.
    pub(crate) fn dict_get(&self, dict: &Value, key: &str) -> Option<&Value> {
        match self.get(dict)? {
            Obj::Dict(items) => items
                .iter()
                .find(|(k, _)| matches!(k, Value::Str(s) if &**s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}
