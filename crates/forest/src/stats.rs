//! The six base stats every model here reads, in the order the data package stores them.

/// The six base stats' names, in the order a row holds them.
pub const FEATURES: [&str; 6] = [
    "hp",
    "attack",
    "defense",
    "special_attack",
    "special_defense",
    "speed",
];
