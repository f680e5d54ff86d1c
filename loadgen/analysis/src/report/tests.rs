//! Unit tests of the report: spreads and cell order.

use super::*;

#[test]
fn spread_takes_the_median() {
    let s = Spread::of(&[3.0, 1.0, 2.0]).unwrap();
    assert_eq!((s.median, s.min, s.max, s.n), (2.0, 1.0, 3.0, 3));
    assert_eq!(Spread::of(&[1.0, 4.0]).unwrap().median, 2.5);
    assert_eq!(Spread::of(&[]), None);
    assert_eq!(Spread::of(&[5.0]).unwrap().noise_pct(), None);
    assert_eq!(
        Spread::of(&[90.0, 100.0, 110.0]).unwrap().noise_pct(),
        Some(20.0)
    );
}

#[test]
fn cells_sort_in_model_order() {
    let key = |m: &str, c| CellKey {
        model: m.into(),
        clients: c,
        size: 64,
        protocol: "raw".into(),
        pipeline: 1,
    };
    let mut keys = [
        key("tokio", 1),
        key("threads", 10),
        key("zzz", 1),
        key("threads", 1),
    ];
    keys.sort_by_key(|k| k.order());
    let got: Vec<_> = keys.iter().map(|k| k.label()).collect();
    assert_eq!(
        got,
        [
            "threads × 1 clients",
            "threads × 10 clients",
            "tokio × 1 clients",
            "zzz × 1 clients"
        ]
    );
}
