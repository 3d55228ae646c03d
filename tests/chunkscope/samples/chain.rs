//! Rust: generic impls, trait impls for references, traits, modules and macros.
use std::fmt;

pub struct Chain<'a> {
    next: Option<&'a dyn fmt::Display>,
}

impl<'a> Iterator for Chain<'a> {
    type Item = &'a dyn fmt::Display;

    fn next(&mut self) -> Option<Self::Item> {
        self.next.take()
    }
}

impl fmt::Display for &Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "chain")
    }
}

pub trait Source {
    fn read(&self) -> usize;
}

mod private {
    pub enum Sealed {
        One,
    }
}

macro_rules! chain {
    () => {};
}
