use std::cell::RefCell;

use bumpalo::Bump;
use hashbrown::{DefaultHashBuilder, HashMap};

use super::value::Value;

/// A scope of variable bindings.
///
/// vpcgate: frames live in the evaluation's arena (names as arena `&str`, the map allocated in
/// the arena, the parent as an arena reference), so nothing they own is on the heap. The
/// original `Rc<RefCell<FrameData{HashMap<String, ..>}>>` was captured by lambdas stored in the
/// arena, which never runs `Drop`, so every frame a lambda saw leaked its heap map.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a>(&'a FrameData<'a>);

impl<'a> Frame<'a> {
    pub fn new(arena: &'a Bump) -> Frame<'a> {
        Frame(arena.alloc(FrameData {
            bindings: RefCell::new(HashMap::new_in(arena)),
            parent: None,
            arena,
        }))
    }

    pub fn new_with_parent(parent: &Frame<'a>) -> Frame<'a> {
        let arena = parent.0.arena;
        Frame(arena.alloc(FrameData {
            bindings: RefCell::new(HashMap::new_in(arena)),
            parent: Some(*parent),
            arena,
        }))
    }

    pub fn from_tuple(parent: &Frame<'a>, tuple: &'a Value<'a>) -> Frame<'a> {
        let arena = parent.0.arena;
        let mut bindings = HashMap::with_capacity_in(tuple.entries().len(), arena);
        for (key, value) in tuple.entries() {
            bindings.insert(&*arena.alloc_str(key), *value);
        }

        Frame(arena.alloc(FrameData {
            bindings: RefCell::new(bindings),
            parent: Some(*parent),
            arena,
        }))
    }

    pub fn bind(&self, name: &str, value: &'a Value<'a>) {
        let mut bindings = self.0.bindings.borrow_mut();
        if let Some(slot) = bindings.get_mut(name) {
            *slot = value;
        } else {
            bindings.insert(&*self.0.arena.alloc_str(name), value);
        }
    }

    pub fn lookup(&self, name: &str) -> Option<&'a Value<'a>> {
        let mut frame = Some(*self);
        while let Some(f) = frame {
            if let Some(value) = f.0.bindings.borrow().get(name) {
                return Some(*value);
            }
            frame = f.0.parent;
        }
        None
    }
}

#[derive(Debug)]
pub struct FrameData<'a> {
    bindings: RefCell<HashMap<&'a str, &'a Value<'a>, DefaultHashBuilder, &'a Bump>>,
    parent: Option<Frame<'a>>,
    arena: &'a Bump,
}
