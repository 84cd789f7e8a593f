use super::*;

#[test]
fn source_names_carry_the_kind_and_live_names_stay_bare() {
    assert_eq!(source_name(Kind::Intervals, "uccx"), "intervals:uccx");
    assert_eq!(source_name(Kind::Users, "uccx"), "users:uccx");
    assert_eq!(
        source_name(Kind::ReasonCodes, "finesse"),
        "reason-codes:finesse"
    );
    assert_eq!(source_name(Kind::Live, "cti-a"), "cti-a");
    for kind in [
        Kind::Users,
        Kind::Intervals,
        Kind::States,
        Kind::Live,
        Kind::ReasonCodes,
    ] {
        assert_eq!(parse_source(&source_name(kind, "src-1")), (kind, "src-1"));
    }
    assert_eq!(parse_source("odd:name"), (Kind::Live, "odd:name"));
}

#[test]
fn routes_follow_the_kind() {
    assert_eq!(Kind::Intervals.route(), "/api/v1/intervals");
    assert_eq!(Kind::States.route(), Kind::Live.route());
    assert_eq!(Kind::ReasonCodes.method(), reqwest::Method::PUT);
    assert_eq!(Kind::Users.method(), reqwest::Method::POST);
}
