//! The 16 classes: four colours times four shapes, in SCENES.md's order (the order matters for
//! captions: shape-major, then colour).

use std::f64::consts::PI;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Colour {
    Red,
    Green,
    Blue,
    Yellow,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Circle,
    Square,
    Triangle,
    Star,
}

impl Colour {
    pub const ALL: [Colour; 4] = [Colour::Red, Colour::Green, Colour::Blue, Colour::Yellow];

    pub fn name(self) -> &'static str {
        match self {
            Colour::Red => "red",
            Colour::Green => "green",
            Colour::Blue => "blue",
            Colour::Yellow => "yellow",
        }
    }

    /// The class colour before the per-shape jitter.
    pub fn rgb(self) -> [u8; 3] {
        match self {
            Colour::Red => [215, 40, 40],
            Colour::Green => [40, 165, 70],
            Colour::Blue => [45, 85, 215],
            Colour::Yellow => [235, 200, 45],
        }
    }

    pub fn from_name(name: &str) -> Option<Colour> {
        Colour::ALL.into_iter().find(|c| c.name() == name)
    }
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Circle, Kind::Square, Kind::Triangle, Kind::Star];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Circle => "circle",
            Kind::Square => "square",
            Kind::Triangle => "triangle",
            Kind::Star => "star",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The rotation period: theta ~ U[0, period); 0 for the circle (no rotation).
    pub fn period(self) -> f64 {
        match self {
            Kind::Circle => 0.0,
            Kind::Square => PI / 2.0,
            Kind::Triangle => 2.0 * PI / 3.0,
            Kind::Star => 2.0 * PI / 5.0,
        }
    }
}

/// A class: `"{colour} {shape}"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Class {
    pub colour: Colour,
    pub kind: Kind,
}

impl Class {
    /// All 16 in caption order: all circles by colour, then squares, triangles, stars.
    pub fn all() -> impl Iterator<Item = Class> {
        Kind::ALL.into_iter().flat_map(|kind| Colour::ALL.into_iter().map(move |colour| Class { colour, kind }))
    }

    /// Position in caption order (0..16).
    pub fn index(self) -> usize {
        self.kind as usize * 4 + self.colour as usize
    }

    pub fn name(self) -> String {
        format!("{} {}", self.colour.name(), self.kind.name())
    }

    /// Parses `"red circle"`.
    pub fn from_name(name: &str) -> Option<Class> {
        let (c, k) = name.split_once(' ')?;
        Some(Class { colour: Colour::from_name(c)?, kind: Kind::from_name(k)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_order_is_shape_major() {
        let names: Vec<String> = Class::all().map(Class::name).collect();
        assert_eq!(names.len(), 16);
        assert_eq!(&names[..5], ["red circle", "green circle", "blue circle", "yellow circle", "red square"]);
        assert_eq!(names[15], "yellow star");
        for (i, c) in Class::all().enumerate() {
            assert_eq!(c.index(), i);
            assert_eq!(Class::from_name(&c.name()), Some(c));
        }
        assert_eq!(Class::from_name("purple circle"), None);
    }
}
