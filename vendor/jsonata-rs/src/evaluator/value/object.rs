//! vpcgate: JSONata objects keep their keys in insertion order (as the reference
//! implementation's JavaScript objects do, and so Step Functions' outputs); jsonata-rs 0.3.4
//! used a `hashbrown::HashMap`, whose iteration order depends on a per-process random seed.
//! Entries and index are both allocated in the evaluation's arena.

use bumpalo::collections::String as BumpString;
use bumpalo::collections::Vec as BumpVec;
use bumpalo::Bump;
use hashbrown::{DefaultHashBuilder, HashMap};

use super::Value;

pub struct ObjectMap<'a> {
    entries: BumpVec<'a, (BumpString<'a>, &'a Value<'a>)>,
    index: HashMap<&'a str, usize, DefaultHashBuilder, &'a Bump>,
    arena: &'a Bump,
}

impl<'a> ObjectMap<'a> {
    pub fn new_in(arena: &'a Bump) -> Self {
        Self::with_capacity_in(0, arena)
    }

    pub fn with_capacity_in(capacity: usize, arena: &'a Bump) -> Self {
        ObjectMap {
            entries: BumpVec::with_capacity_in(capacity, arena),
            index: HashMap::with_capacity_in(capacity, arena),
            arena,
        }
    }

    pub fn allocator(&self) -> &'a Bump {
        self.arena
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Inserts or replaces (a replaced key keeps its position).
    pub fn insert(&mut self, key: BumpString<'a>, value: &'a Value<'a>) {
        if let Some(&i) = self.index.get(key.as_str()) {
            self.entries[i].1 = value;
            return;
        }
        let k: &'a str = self.arena.alloc_str(&key);
        self.index.insert(k, self.entries.len());
        self.entries.push((key, value));
    }

    pub fn get(&self, key: &str) -> Option<&'a Value<'a>> {
        self.index.get(key).map(|&i| self.entries[i].1)
    }

    pub fn remove(&mut self, key: &str) -> Option<&'a Value<'a>> {
        let i = self.index.remove(key)?;
        let (_, v) = self.entries.remove(i);
        for pos in self.index.values_mut() {
            if *pos > i {
                *pos -= 1;
            }
        }
        Some(v)
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&BumpString<'a>, &&'a Value<'a>)> + '_ {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl ExactSizeIterator<Item = &BumpString<'a>> + '_ {
        self.entries.iter().map(|(k, _)| k)
    }

    pub fn extend(&mut self, items: impl IntoIterator<Item = (BumpString<'a>, &'a Value<'a>)>) {
        for (k, v) in items {
            self.insert(k, v);
        }
    }
}

/// Objects are equal when they have the same keys with equal values, in any order.
impl PartialEq for ObjectMap<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .entries
                .iter()
                .all(|(k, v)| other.get(k).is_some_and(|o| *v == o))
    }
}

impl std::fmt::Debug for ObjectMap<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.entries.iter().map(|(k, v)| (k, v))).finish()
    }
}
