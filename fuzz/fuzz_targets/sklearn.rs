//! Fuzzes the scikit-learn readers (`legendary-sklearn`) on their own: the first input byte
//! picks pickle or skops, the rest is the model file. They must never panic, and must finish
//! within the default limits whatever the bytes say.
#![no_main]

use legendary_forest::ReadLimits;
use legendary_sklearn::{Format, SkForest, SklearnLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, file)) = data.split_first() else {
        return;
    };
    let format = if selector % 2 == 0 {
        Format::Pickle
    } else {
        Format::Skops
    };
    if let Ok(forest) = SkForest::read(file, format, &SklearnLimits::default(), &ReadLimits::default()) {
        let row = vec![0.5; forest.n_features];
        let _ = forest.predict_json(&row);
    }
});
