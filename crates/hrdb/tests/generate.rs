//! The generator in memory: determinism and plausibility of the generated centre.

use std::collections::{BTreeMap, BTreeSet};

use wfm_hrdb::{generate, Centre, HrdbSpec, CHANGING_CSQ};

fn small_spec(seed: u64) -> HrdbSpec {
    HrdbSpec {
        seed,
        agents: 60,
        csqs: 6,
        days: 4,
        ..HrdbSpec::new()
    }
}

fn centre(seed: u64) -> Centre {
    generate(&small_spec(seed)).expect("valid spec")
}

#[test]
fn same_seed_gives_the_same_rows() {
    let a = centre(11);
    let b = centre(11);
    assert_eq!(a.legs, b.legs);
    assert_eq!(a.queue_rows, b.queue_rows);
    assert_eq!(a.agent_rows, b.agent_rows);
    assert_eq!(a.states, b.states);
    assert_eq!(a.call_type_intervals, b.call_type_intervals);
    assert_eq!(a.resources, b.resources);
    let c = centre(12);
    assert_ne!(a.legs, c.legs);
}

#[test]
fn invalid_spec_is_an_error_not_a_panic() {
    let spec = HrdbSpec {
        agents: 0,
        csqs: 1,
        interval_minutes: 20,
        ..HrdbSpec::new()
    };
    let err = generate(&spec).expect_err("invalid");
    let text = err.to_string();
    assert!(
        text.contains("agents") && text.contains("csqs") && text.contains("interval_minutes"),
        "{text}"
    );
}

#[test]
fn dispositions_rona_and_transfers_are_all_present_at_plausible_rates() {
    let c = centre(7);
    let legs = c.legs.len() as f64;
    assert!(legs > 2_000.0, "too few legs: {legs}");
    let ccd: BTreeMap<i16, usize> = c.legs.iter().fold(BTreeMap::new(), |mut m, l| {
        *m.entry(l.contactdisposition).or_default() += 1;
        m
    });
    let cqd: BTreeMap<i16, usize> = c.queue_rows.iter().fold(BTreeMap::new(), |mut m, q| {
        *m.entry(q.disposition).or_default() += 1;
        m
    });
    let abandon_rate = ccd.get(&1).copied().unwrap_or(0) as f64 / legs;
    assert!(
        (0.005..0.25).contains(&abandon_rate),
        "abandon rate {abandon_rate}, {ccd:?}"
    );
    assert!(
        ccd.get(&4).copied().unwrap_or(0) > 0,
        "no aborted legs: {ccd:?}"
    );
    for disposition in 1..=5 {
        assert!(
            cqd.get(&disposition).copied().unwrap_or(0) > 0,
            "no CQD disposition {disposition}: {cqd:?}"
        );
    }
    // Aborted = CQD 1 + CCD 4.
    for leg in c.legs.iter().filter(|l| l.contactdisposition == 4) {
        let rows: Vec<_> = c
            .queue_rows
            .iter()
            .filter(|q| q.sessionid == leg.sessionid && q.sessionseqnum == leg.sessionseqnum)
            .collect();
        assert!(rows.iter().all(|q| q.disposition == 1));
    }
    // RONA: ringtime > 0, talktime 0, followed by another agent on the same leg and qindex.
    let ronas: Vec<_> = c.agent_rows.iter().filter(|a| a.rna).collect();
    assert!(!ronas.is_empty());
    assert!(ronas.iter().all(|a| a.ringtime > 0 && a.talktime == 0));
    let answered_after_rona = ronas.iter().filter(|r| {
        c.agent_rows.iter().any(|a| {
            a.sessionid == r.sessionid
                && a.sessionseqnum == r.sessionseqnum
                && a.resourceid != r.resourceid
                && a.talktime > 0
                && a.qindex == r.qindex
        })
    });
    assert!(answered_after_rona.count() > 0);
    // Transfers: leg seq+1 with contacttype 5 from an agent; the first leg has the flag.
    let transfers: Vec<_> = c.legs.iter().filter(|l| l.sessionseqnum == 1).collect();
    assert!(!transfers.is_empty());
    for t in &transfers {
        assert_eq!(t.contacttype, 5);
        let first = c
            .legs
            .iter()
            .find(|l| l.sessionid == t.sessionid && l.sessionseqnum == 0)
            .expect("first leg");
        assert!(first.transfer);
        assert!(t.start >= first.start);
    }
}

#[test]
fn every_leg_is_written_after_it_ends_and_after_its_wrap_up() {
    let c = centre(3);
    for leg in &c.legs {
        assert!(leg.end >= leg.start, "{leg:?}");
        assert!(leg.write >= leg.end);
    }
    for a in &c.agent_rows {
        assert!(a.write.0 >= a.end.0 + i64::from(a.worktime) * 1000);
        assert!(a.end >= a.start);
    }
    for q in &c.queue_rows {
        assert!(q.queuetime >= 0);
    }
}

#[test]
fn csq_configuration_change_keeps_the_logical_id() {
    let c = centre(7);
    let versions: Vec<_> = c
        .csqs
        .iter()
        .filter(|r| r.contactservicequeueid == CHANGING_CSQ)
        .collect();
    assert_eq!(versions.len(), 2);
    assert_ne!(versions[0].recordid, versions[1].recordid);
    assert_ne!(versions[0].csqname, versions[1].csqname);
    let ids: BTreeSet<i32> = c
        .queue_rows
        .iter()
        .filter_map(|q| {
            c.logical_csq(q.targetid)
                .filter(|l| *l == CHANGING_CSQ)
                .map(|_| q.targetid)
        })
        .collect();
    assert_eq!(
        ids.len(),
        2,
        "calls reach both versions of the changing CSQ: {ids:?}"
    );
}

#[test]
fn agent_states_are_ordered_and_well_formed() {
    let c = centre(5);
    assert!(!c.states.is_empty());
    for pair in c.states.windows(2) {
        assert!((pair[0].at, pair[0].agentid) <= (pair[1].at, pair[1].agentid));
    }
    // Per agent: Log In first, then alternating sessions; every other event inside a session.
    let mut logged_in: BTreeMap<i32, bool> = BTreeMap::new();
    for s in &c.states {
        let state = logged_in.entry(s.agentid).or_insert(false);
        match s.eventtype {
            1 => {
                assert!(!*state, "double login {s:?}");
                *state = true;
            }
            7 => {
                assert!(*state, "logout while logged out {s:?}");
                *state = false;
            }
            _ => assert!(*state, "event while logged out {s:?}"),
        }
    }
    assert!(c.states.iter().all(|s| (1..=7).contains(&s.eventtype)));
    let logins = c.states.iter().filter(|s| s.eventtype == 1).count();
    let logouts = c.states.iter().filter(|s| s.eventtype == 7).count();
    assert_eq!(logins, logouts);
    assert!(c
        .states
        .iter()
        .any(|s| s.eventtype == 2 && s.reasoncode == 32763));
}

#[test]
fn ucce_intervals_count_every_leg_once() {
    let c = centre(9);
    let offered: i64 = c
        .call_type_intervals
        .iter()
        .map(|r| i64::from(r.callsoffered))
        .sum();
    assert_eq!(offered, c.legs.len() as i64);
    let handled: i64 = c
        .call_type_intervals
        .iter()
        .map(|r| i64::from(r.callshandled))
        .sum();
    let answered_legs = c.legs.iter().filter(|l| l.connecttime > 0).count() as i64;
    assert_eq!(handled, answered_legs);
    let starts: BTreeSet<_> = c.call_type_intervals.iter().map(|r| r.start.0).collect();
    let step = 15 * 60 * 1000;
    assert!(starts
        .iter()
        .all(|s| (s + c.spec.utc_offset_minutes as i64 * 60_000).rem_euclid(step) == 0));
}
