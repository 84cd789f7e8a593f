use super::*;
use time::macros::datetime;

#[test]
fn windows_cover_the_range_without_gaps_and_stay_aligned() {
    let from = datetime!(2026-03-01 0:00 UTC);
    let to = datetime!(2026-03-03 6:15 UTC);
    let list = windows(from, to, Duration::from_secs(86_400), 15);
    assert_eq!(list.len(), 3);
    assert_eq!(list[0].from, from);
    for pair in list.windows(2) {
        assert_eq!(pair[0].to, pair[1].from);
    }
    assert_eq!(list.last().unwrap().to, to);
    assert!(list
        .iter()
        .all(|w| aligned(w.from, 15) && aligned(w.to, 15)));
}

#[test]
fn ranges_round_outwards_to_whole_intervals() {
    assert_eq!(
        ceil_to(datetime!(2026-03-01 10:07 UTC), 15),
        datetime!(2026-03-01 10:15 UTC)
    );
    assert_eq!(
        ceil_to(datetime!(2026-03-01 10:30 UTC), 30),
        datetime!(2026-03-01 10:30 UTC)
    );
    assert_eq!(
        floor_to(datetime!(2026-03-01 10:44:59.999 UTC), 30),
        datetime!(2026-03-01 10:30 UTC)
    );
}

#[test]
fn a_date_argument_is_local_midnight_of_the_site() {
    let t = parse_instant("2026-03-08", "America/New_York").unwrap();
    assert_eq!(t, datetime!(2026-03-08 5:00 UTC));
    let t = parse_instant("2026-07-01", "America/New_York").unwrap();
    assert_eq!(t, datetime!(2026-07-01 4:00 UTC));
    let t = parse_instant("2026-07-01T12:00:00+02:00", "America/New_York").unwrap();
    assert_eq!(t, datetime!(2026-07-01 10:00 UTC));
    let err = parse_instant("yesterday", "UTC").unwrap_err();
    assert!(err.contains("neither a date"), "{err}");
}
