//! Property tests of the semver rule (DESIGN §4): matching is symmetric, and
//! two versions match exactly when they share a track.

use proptest::prelude::*;
use weld_format::names::{semver_compatible, ProviderIndex};

fn version() -> impl Strategy<Value = String> {
    (
        0u64..3,
        0u64..3,
        0u64..3,
        prop::option::of(prop::sample::select(vec!["rc1", "rc2", "alpha"])),
        prop::option::of(Just("b7")),
    )
        .prop_map(|(maj, min, pat, pre, build)| {
            let mut v = format!("{maj}.{min}.{pat}");
            if let Some(p) = pre {
                v.push('-');
                v.push_str(p);
            }
            if let Some(b) = build {
                v.push('+');
                v.push_str(b);
            }
            v
        })
}

/// The track as the rule states it, computed independently of `Track`.
fn track(v: &str) -> String {
    let core = v.split('+').next().unwrap();
    let (nums, pre) = match core.split_once('-') {
        Some((n, p)) => (n, Some(p)),
        None => (core, None),
    };
    let n: Vec<u64> = nums.split('.').map(|x| x.parse().unwrap()).collect();
    match pre {
        Some(_) => format!("exact {core}"),
        None if n[0] > 0 => format!("@{}", n[0]),
        None if n[1] > 0 => format!("@0.{}", n[1]),
        None => format!("exact {core}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn semver_matching_is_symmetric_within_a_track(a in version(), b in version()) {
        let (x, y) = (format!("ns:pkg/iface@{a}"), format!("ns:pkg/iface@{b}"));
        prop_assert_eq!(semver_compatible(&x, &y), semver_compatible(&y, &x));
        prop_assert_eq!(semver_compatible(&x, &y), track(&a) == track(&b), "{} vs {}", a, b);
        // Lookups agree: a provider of one is found for the other exactly
        // when the names are equal or on one track.
        let mut idx = ProviderIndex::new();
        idx.insert(x.as_str(), ());
        prop_assert_eq!(idx.lookup(&y).is_some(), x == y || track(&a) == track(&b));
    }
}
