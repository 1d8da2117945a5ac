//! A restricted pickle reader (protocols 2-5): it interprets the opcodes a scikit-learn tree
//! model is written with and builds an inert [`Heap`], never importing or calling anything.
//! A global is checked against a short list when it is named (`GLOBAL`/`STACK_GLOBAL`), so
//! `os.system` is refused before its arguments are even read; REDUCE, NEWOBJ and BUILD only
//! record what the accepted globals would have built. No crate does this: `serde-pickle`
//! reads plain data but cannot rebuild numpy arrays or estimator state.

use std::collections::HashMap;
use std::rc::Rc;

use super::value::{Array, ArrayData, Dtype, Global, Heap, Obj, Value, resolve};
use super::{SklearnError, SklearnLimits};

/// Reads `bytes` as a pickle and returns the heap and the value it ends with.
///
/// # Errors
/// [`SklearnError`] naming the first refused global, the broken opcode or the limit reached.
pub(crate) fn read(bytes: &[u8], limits: &SklearnLimits) -> Result<(Heap, Value), SklearnError> {
    let mut vm = Vm {
        input: bytes,
        at: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        heap: Heap::default(),
        items: 0,
        limits,
    };
    let top = vm.run()?;
    Ok((vm.heap, top))
}

struct Vm<'a> {
    input: &'a [u8],
    at: usize,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
    heap: Heap,
    /// Values created so far (pushed, stored in a container or memoised): bounds memory,
    /// since DUP and APPENDS could otherwise turn each input byte into a 24-byte value.
    items: usize,
    limits: &'a SklearnLimits,
}

/// Most fields of a record dtype (a 1.3+ node record has 8).
const MAX_FIELDS: usize = 64;

fn malformed(message: impl Into<String>) -> SklearnError {
    SklearnError::Malformed(format!("pickle: {}", message.into()))
}

impl Vm<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], SklearnError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.input.len())
            .ok_or_else(|| malformed(format!("truncated at byte {}", self.at)))?;
        let bytes = &self.input[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    fn byte(&mut self) -> Result<u8, SklearnError> {
        Ok(self.take(1)?[0])
    }

    fn uint(&mut self, n: usize) -> Result<u64, SklearnError> {
        let bytes = self.take(n)?;
        Ok(bytes
            .iter()
            .rev()
            .fold(0_u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    fn len(&mut self, n: usize) -> Result<usize, SklearnError> {
        let len = self.uint(n)?;
        usize::try_from(len).map_err(|_| malformed("length overflows"))
    }

    fn line(&mut self) -> Result<&str, SklearnError> {
        let rest = &self.input[self.at..];
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| malformed("unterminated line"))?;
        self.at += end + 1;
        std::str::from_utf8(&rest[..end]).map_err(|_| malformed("line is not UTF-8"))
    }

    fn count(&mut self, n: usize) -> Result<(), SklearnError> {
        self.items = self.items.saturating_add(n);
        if self.items > self.limits.max_values {
            return Err(SklearnError::Limit(format!(
                "the pickle creates more than {} values (SklearnLimits::max_values)",
                self.limits.max_values
            )));
        }
        Ok(())
    }

    fn push(&mut self, value: Value) -> Result<(), SklearnError> {
        if self.stack.len() >= self.limits.max_stack {
            return Err(SklearnError::Limit(format!(
                "the pickle's stack is deeper than {} (SklearnLimits::max_stack)",
                self.limits.max_stack
            )));
        }
        self.count(1)?;
        self.stack.push(value);
        Ok(())
    }

    fn pop(&mut self) -> Result<Value, SklearnError> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(malformed("pop from an empty stack"));
        }
        self.stack.pop().ok_or_else(|| malformed("empty stack"))
    }

    fn pop_mark(&mut self) -> Result<Vec<Value>, SklearnError> {
        let mark = self.marks.pop().ok_or_else(|| malformed("no MARK"))?;
        Ok(self.stack.split_off(mark))
    }

    fn top(&self) -> Result<&Value, SklearnError> {
        let floor = self.marks.last().copied().unwrap_or(0);
        self.stack
            .last()
            .filter(|_| self.stack.len() > floor)
            .ok_or_else(|| malformed("empty stack"))
    }

    fn alloc(&mut self, obj: Obj) -> Result<Value, SklearnError> {
        self.count(1)?;
        Ok(self.heap.alloc(obj))
    }

    fn memo_put(&mut self, key: u32) -> Result<(), SklearnError> {
        if self.memo.len() >= self.limits.max_memo && !self.memo.contains_key(&key) {
            return Err(SklearnError::Limit(format!(
                "the pickle memoises more than {} values (SklearnLimits::max_memo)",
                self.limits.max_memo
            )));
        }
        let value = self.top()?.clone();
        self.memo.insert(key, value);
        Ok(())
    }

    fn memo_get(&mut self, key: u32) -> Result<(), SklearnError> {
        let value = self
            .memo
            .get(&key)
            .cloned()
            .ok_or_else(|| malformed(format!("memo key {key} is not set")))?;
        self.push(value)
    }

    fn string(&mut self, n: usize) -> Result<(), SklearnError> {
        let bytes = self.take(n)?;
        let text = std::str::from_utf8(bytes).map_err(|_| malformed("string is not UTF-8"))?;
        let value = Value::Str(Rc::from(text));
        self.push(value)
    }

    fn bytes(&mut self, n: usize) -> Result<(), SklearnError> {
        let bytes = Rc::from(self.take(n)?);
        self.push(Value::Bytes(bytes))
    }

    /// The items a container opcode adds to the container below them.
    fn extend(&mut self, items: Vec<Value>, pairs: bool) -> Result<(), SklearnError> {
        self.count(items.len())?;
        let target = self.top()?.clone();
        match (self.heap.get_mut(&target), pairs) {
            (Some(Obj::List(list) | Obj::Set(list)), false) => list.extend(items),
            (Some(Obj::Dict(dict)), true) => {
                if !items.len().is_multiple_of(2) {
                    return Err(malformed("SETITEMS with an odd number of items"));
                }
                let mut items = items.into_iter();
                while let (Some(k), Some(v)) = (items.next(), items.next()) {
                    dict.push((k, v));
                }
            }
            _ => {
                return Err(malformed(
                    "items added to something that is not a container",
                ));
            }
        }
        Ok(())
    }

    fn run(&mut self) -> Result<Value, SklearnError> {
        if self.take(1)? != [0x80] {
            return Err(malformed(
                "protocol 0 and 1 pickles are not supported (scikit-learn models are written with protocol 2 or later)",
            ));
        }
        let protocol = self.byte()?;
        if !(2..=5).contains(&protocol) {
            return Err(malformed(format!("protocol {protocol} is not supported")));
        }
        loop {
            let op = self.byte()?;
            match op {
                b'.' => return self.pop(),
                0x95 => {
                    self.take(8)?; // FRAME: a length hint; the opcodes follow inline.
                }
                0x80 => return Err(malformed("a second PROTO")),
                b'(' => self.marks.push(self.stack.len()),
                b'0' => {
                    self.pop()?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let v = self.top()?.clone();
                    self.push(v)?;
                }
                b'N' => self.push(Value::None)?,
                0x88 => self.push(Value::Bool(true))?,
                0x89 => self.push(Value::Bool(false))?,
                b'J' => {
                    let v = self.uint(4)? as u32 as i32;
                    self.push(Value::Int(i64::from(v)))?;
                }
                b'K' => {
                    let v = self.uint(1)?;
                    self.push(Value::Int(v as i64))?;
                }
                b'M' => {
                    let v = self.uint(2)?;
                    self.push(Value::Int(v as i64))?;
                }
                0x8a => {
                    let n = self.len(1)?;
                    self.long(n)?;
                }
                0x8b => {
                    let n = self.len(4)?;
                    self.long(n)?;
                }
                b'G' => {
                    let bytes = self.take(8)?;
                    let mut raw = [0; 8];
                    raw.copy_from_slice(bytes);
                    self.push(Value::Float(f64::from_be_bytes(raw)))?;
                }
                b'I' => {
                    let v = match self.line()? {
                        "00" => Value::Bool(false),
                        "01" => Value::Bool(true),
                        text => Value::Int(text.parse().map_err(|_| malformed("bad INT"))?),
                    };
                    self.push(v)?;
                }
                b'F' => {
                    let v = self.line()?.parse().map_err(|_| malformed("bad FLOAT"))?;
                    self.push(Value::Float(v))?;
                }
                0x8c => {
                    let n = self.len(1)?;
                    self.string(n)?;
                }
                b'X' => {
                    let n = self.len(4)?;
                    self.string(n)?;
                }
                0x8d => {
                    let n = self.len(8)?;
                    self.string(n)?;
                }
                // Python 2 `str`: read as text, as Python 3 does with encoding="latin1".
                b'U' | b'T' => {
                    let n = self.len(if op == b'U' { 1 } else { 4 })?;
                    let text: String = self.take(n)?.iter().map(|&b| char::from(b)).collect();
                    self.push(Value::Str(Rc::from(text)))?;
                }
                b'C' => {
                    let n = self.len(1)?;
                    self.bytes(n)?;
                }
                b'B' => {
                    let n = self.len(4)?;
                    self.bytes(n)?;
                }
                0x8e | 0x96 => {
                    let n = self.len(8)?;
                    self.bytes(n)?;
                }
                b')' => {
                    let v = self.alloc(Obj::Tuple(Vec::new()))?;
                    self.push(v)?;
                }
                b't' => {
                    let items = self.pop_mark()?;
                    let v = self.alloc(Obj::Tuple(items))?;
                    self.push(v)?;
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    let floor = self.marks.last().copied().unwrap_or(0);
                    if self.stack.len() < floor + n {
                        return Err(malformed("TUPLE with too few items"));
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    let v = self.alloc(Obj::Tuple(items))?;
                    self.push(v)?;
                }
                b']' => {
                    let v = self.alloc(Obj::List(Vec::new()))?;
                    self.push(v)?;
                }
                b'l' => {
                    let items = self.pop_mark()?;
                    let v = self.alloc(Obj::List(items))?;
                    self.push(v)?;
                }
                b'a' => {
                    let item = self.pop()?;
                    self.extend(vec![item], false)?;
                }
                b'e' | 0x90 => {
                    let items = self.pop_mark()?;
                    self.extend(items, false)?;
                }
                b'}' => {
                    let v = self.alloc(Obj::Dict(Vec::new()))?;
                    self.push(v)?;
                }
                b'd' => {
                    let items = self.pop_mark()?;
                    let v = self.alloc(Obj::Dict(Vec::new()))?;
                    self.push(v)?;
                    self.extend(items, true)?;
                }
                b's' => {
                    let value = self.pop()?;
                    let key = self.pop()?;
                    self.extend(vec![key, value], true)?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    self.extend(items, true)?;
                }
                0x8f => {
                    let v = self.alloc(Obj::Set(Vec::new()))?;
                    self.push(v)?;
                }
                0x91 => {
                    let items = self.pop_mark()?;
                    let v = self.alloc(Obj::Set(items))?;
                    self.push(v)?;
                }
                b'c' => {
                    let module = self.line()?.to_owned();
                    let name = self.line()?.to_owned();
                    self.global(&module, &name)?;
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Value::Str(m), Value::Str(n)) => self.global(&m, &n)?,
                        _ => return Err(malformed("STACK_GLOBAL of non-strings")),
                    }
                }
                b'R' => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    let v = self.reduce(&callable, &args)?;
                    self.push(v)?;
                }
                0x81 | 0x92 => {
                    if op == 0x92 {
                        self.pop()?; // NEWOBJ_EX's keyword arguments: estimators take none.
                    }
                    let args = self.pop()?;
                    let class = self.pop()?;
                    let v = self.new_instance(&class, &args)?;
                    self.push(v)?;
                }
                b'b' => {
                    let state = self.pop()?;
                    let target = self.top()?.clone();
                    self.build(&target, state)?;
                }
                b'p' => {
                    let key = self.line()?.parse().map_err(|_| malformed("bad PUT"))?;
                    self.memo_put(key)?;
                }
                b'q' => {
                    let key = self.uint(1)? as u32;
                    self.memo_put(key)?;
                }
                b'r' => {
                    let key = self.uint(4)? as u32;
                    self.memo_put(key)?;
                }
                0x94 => {
                    let key = u32::try_from(self.memo.len()).map_err(|_| malformed("memo"))?;
                    self.memo_put(key)?;
                }
                b'g' => {
                    let key = self.line()?.parse().map_err(|_| malformed("bad GET"))?;
                    self.memo_get(key)?;
                }
                b'h' => {
                    let key = self.uint(1)? as u32;
                    self.memo_get(key)?;
                }
                b'j' => {
                    let key = self.uint(4)? as u32;
                    self.memo_get(key)?;
                }
                0x97 | 0x98 => return Err(malformed("out-of-band buffers are not supported")),
                b'P' | b'Q' => return Err(malformed("persistent ids are not supported")),
                0x82..=0x84 => return Err(malformed("extension codes are not supported")),
                b'i' | b'o' => {
                    return Err(malformed("INST and OBJ (protocol 0/1) are not supported"));
                }
                other => {
                    return Err(malformed(format!(
                        "opcode 0x{other:02x} at byte {} is not supported",
                        self.at - 1
                    )));
                }
            }
        }
    }

    /// LONG1/LONG4: a little-endian two's-complement integer; more than 8 bytes is refused.
    fn long(&mut self, n: usize) -> Result<(), SklearnError> {
        if n > 8 {
            return Err(malformed("an integer wider than 64 bits"));
        }
        let bytes = self.take(n)?;
        let mut raw = if bytes.last().is_some_and(|b| b & 0x80 != 0) {
            [0xff; 8]
        } else {
            [0; 8]
        };
        raw[..n].copy_from_slice(bytes);
        self.push(Value::Int(i64::from_le_bytes(raw)))
    }

    fn global(&mut self, module: &str, name: &str) -> Result<(), SklearnError> {
        let global = resolve(module, name)?;
        let v = self.alloc(Obj::Global(global))?;
        self.push(v)
    }

    fn global_of(&self, value: &Value) -> Option<Global> {
        match self.heap.get(value)? {
            Obj::Global(g) => Some(*g),
            _ => None,
        }
    }

    /// A copy of an argument tuple, counted against `max_values`: the memo lets one large
    /// tuple be passed to many calls, and each copy costs memory.
    fn args(&mut self, args: &Value) -> Result<Vec<Value>, SklearnError> {
        let items = match self.heap.get(args) {
            Some(Obj::Tuple(items)) => items.clone(),
            _ => return Err(malformed("REDUCE arguments are not a tuple")),
        };
        self.count(items.len())?;
        Ok(items)
    }

    /// What REDUCE of an accepted global would have returned, without calling it.
    fn reduce(&mut self, callable: &Value, args: &Value) -> Result<Value, SklearnError> {
        let global = self
            .global_of(callable)
            .ok_or_else(|| malformed("REDUCE of something that is not a global"))?;
        let args = self.args(args)?;
        match (global, args.as_slice()) {
            (Global::Reconstruct, [class, _shape, _code])
                if self.global_of(class) == Some(Global::Ndarray) =>
            {
                self.alloc(Obj::Array(Array {
                    dtype: Dtype::parse("u1")?,
                    shape: Vec::new(),
                    fortran: false,
                    data: ArrayData::Empty,
                }))
            }
            (Global::Dtype, [Value::Str(typestr), ..]) => {
                let dtype = Dtype::parse(typestr)?;
                self.alloc(Obj::Dtype(dtype))
            }
            (Global::FromBuffer, [Value::Bytes(buf), dtype, shape, order]) => {
                let dtype = self.dtype(dtype, 0)?;
                let shape = self.shape(shape)?;
                let fortran = matches!(order, Value::Str(s) if &**s == "F");
                let array = Array {
                    dtype,
                    shape,
                    fortran,
                    data: ArrayData::Raw(buf.clone()),
                };
                array.check()?;
                self.count(array.dtype.fields.len())?;
                self.alloc(Obj::Array(array))
            }
            (Global::Scalar, [dtype, Value::Bytes(raw)]) => {
                let dtype = self.dtype(dtype, 0)?;
                super::extract::scalar(&dtype, raw)
            }
            (Global::Encode, [Value::Str(text), Value::Str(encoding)])
                if &**encoding == "latin1" || &**encoding == "latin-1" =>
            {
                let bytes = text
                    .chars()
                    .map(|c| u8::try_from(u32::from(c)).map_err(|_| malformed("not latin-1")))
                    .collect::<Result<Vec<u8>, _>>()?;
                Ok(Value::Bytes(Rc::from(bytes)))
            }
            (Global::Reconstructor, [class, base, Value::None])
                if self.global_of(base) == Some(Global::Object) =>
            {
                self.instance(class, Vec::new())
            }
            (Global::Class(_), _) => self.instance(callable, args),
            (global, _) => Err(malformed(format!(
                "REDUCE of {global:?} with arguments it never takes"
            ))),
        }
    }

    fn new_instance(&mut self, class: &Value, args: &Value) -> Result<Value, SklearnError> {
        let args = self.args(args)?;
        self.instance(class, args)
    }

    fn instance(&mut self, class: &Value, args: Vec<Value>) -> Result<Value, SklearnError> {
        match self.global_of(class) {
            Some(Global::Class(class)) => self.alloc(Obj::Instance {
                class,
                args,
                state: None,
            }),
            _ => Err(malformed(
                "an instance of something that is not an accepted class",
            )),
        }
    }

    /// A dtype value, resolved (a record's field dtypes are references of their own).
    fn dtype(&self, value: &Value, depth: usize) -> Result<Dtype, SklearnError> {
        match self.heap.get(value) {
            Some(Obj::Dtype(d)) if depth < 4 => Ok(d.clone()),
            _ => Err(malformed("expected a numpy dtype")),
        }
    }

    fn shape(&self, value: &Value) -> Result<Vec<usize>, SklearnError> {
        let items = self
            .heap
            .seq(value)
            .ok_or_else(|| malformed("an array shape is not a tuple"))?;
        items
            .iter()
            .map(|v| match v {
                Value::Int(n) => usize::try_from(*n).map_err(|_| malformed("negative dimension")),
                _ => Err(malformed("an array dimension is not an integer")),
            })
            .collect()
    }

    /// BUILD: records an instance's state, fills an array, or completes a dtype.
    fn build(&mut self, target: &Value, state: Value) -> Result<(), SklearnError> {
        match self.heap.get(target) {
            Some(Obj::Instance { .. }) => {
                if let Some(Obj::Instance { state: slot, .. }) = self.heap.get_mut(target) {
                    *slot = Some(state);
                }
                Ok(())
            }
            Some(Obj::Array(_)) => {
                let array = self.array_state(&state)?;
                if let ArrayData::Objects(items) = &array.data {
                    self.count(items.len())?; // a copy of a list the memo may share
                }
                self.count(array.dtype.fields.len())?; // and of a shared record dtype
                if let Some(Obj::Array(slot)) = self.heap.get_mut(target) {
                    *slot = array;
                }
                Ok(())
            }
            Some(Obj::Dtype(d)) => {
                let dtype = self.dtype_state(d.clone(), &state)?;
                if let Some(Obj::Dtype(slot)) = self.heap.get_mut(target) {
                    *slot = dtype;
                }
                Ok(())
            }
            _ => Err(malformed(
                "BUILD of something that is not an instance, array or dtype",
            )),
        }
    }

    /// ndarray's `__setstate__` argument: `(version, shape, dtype, is_fortran, data)`.
    fn array_state(&self, state: &Value) -> Result<Array, SklearnError> {
        let items = self
            .heap
            .seq(state)
            .ok_or_else(|| malformed("array state is not a tuple"))?;
        let ([_, shape, dtype, fortran, data] | [shape, dtype, fortran, data]) = items else {
            return Err(malformed("array state has the wrong length"));
        };
        let dtype = self.dtype(dtype, 0)?;
        let data = match (data, self.heap.get(data)) {
            (Value::Bytes(b), _) => ArrayData::Raw(b.clone()),
            (_, Some(Obj::List(items))) => ArrayData::Objects(items.clone()),
            _ => return Err(malformed("array data is neither bytes nor a list")),
        };
        let array = Array {
            dtype,
            shape: self.shape(shape)?,
            fortran: matches!(fortran, Value::Bool(true)),
            data,
        };
        array.check()?;
        Ok(array)
    }

    /// dtype's `__setstate__` argument:
    /// `(version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])`.
    fn dtype_state(&self, mut dtype: Dtype, state: &Value) -> Result<Dtype, SklearnError> {
        let items = self
            .heap
            .seq(state)
            .ok_or_else(|| malformed("dtype state is not a tuple"))?;
        if items.len() < 8 {
            return Err(malformed("dtype state is too short"));
        }
        if let Value::Str(order) = &items[1] {
            dtype.big_endian = &**order == ">";
        }
        if !matches!(items[2], Value::None) {
            return Err(malformed("sub-array dtypes are not supported"));
        }
        if let Value::Int(size) = items[5]
            && size > 0
        {
            dtype.size = usize::try_from(size)
                .ok()
                .filter(|&s| s <= 4096)
                .ok_or_else(|| malformed("dtype size"))?;
        }
        if let Some(names) = self.heap.seq(&items[3]) {
            for name in names {
                let Value::Str(name) = name else {
                    return Err(malformed("a field name is not a string"));
                };
                let spec = self
                    .heap
                    .dict_get(&items[4], name)
                    .and_then(|v| self.heap.seq(v))
                    .ok_or_else(|| malformed(format!("field '{name}' has no dtype")))?;
                let (Some(field), Some(Value::Int(offset))) = (spec.first(), spec.get(1)) else {
                    return Err(malformed(format!("field '{name}' is malformed")));
                };
                let field = self.dtype(field, 1)?;
                if !field.fields.is_empty() || dtype.fields.len() >= MAX_FIELDS {
                    return Err(malformed(format!(
                        "record dtypes of nested records or more than {MAX_FIELDS} fields are not supported"
                    )));
                }
                let offset = usize::try_from(*offset).map_err(|_| malformed("field offset"))?;
                if offset
                    .checked_add(field.size)
                    .is_none_or(|end| end > dtype.size)
                {
                    return Err(malformed(format!("field '{name}' lies outside its record")));
                }
                dtype.fields.push((name.to_string(), field, offset));
            }
        }
        Ok(dtype)
    }
}
