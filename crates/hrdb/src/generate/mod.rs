//! The deterministic generator: configuration (CSQs, agents), staffing, the call simulation,
//! agent states and the UCCE aggregation. `generate(spec)` is a pure function of the spec.

mod calls;
mod staffing;
mod states;
mod ucce;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::clock::{UtcMillis, DAY, HOUR, MINUTE};
use crate::error::HrdbError;
use crate::model::{Centre, CsqRow, ResourceRow};
use crate::spec::HrdbSpec;

pub use staffing::curve;

const CSQ_NAMES: [&str; 16] = [
    "Billing",
    "Sales",
    "Support",
    "Claims",
    "Renewals",
    "Technical",
    "Accounts",
    "Orders",
    "Returns",
    "Loyalty",
    "Collections",
    "Priority",
    "Onboarding",
    "Payments",
    "Retention",
    "Service Desk",
];

const FIRST_NAMES: [&str; 20] = [
    "Ana", "Ben", "Carla", "Dev", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jon", "Kai", "Lena",
    "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara",
];

const LAST_NAMES: [&str; 20] = [
    "Abbott", "Brandt", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Haas", "Ito", "Jensen",
    "Kowalski", "Larsen", "Moreau", "Novak", "Okafor", "Patel", "Quist", "Rossi", "Silva",
    "Tanaka",
];

/// The logical id of the CSQ whose configuration changes mid-range.
pub const CHANGING_CSQ: i32 = 2;

/// Generates the centre described by `spec`. Deterministic: same spec → same rows.
pub fn generate(spec: &HrdbSpec) -> Result<Centre, HrdbError> {
    spec.validate()?;
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let from = UtcMillis::from_datetime(spec.from);
    let to = from.plus(i64::from(spec.days) * DAY);
    let offset_ms = i64::from(spec.utc_offset_minutes) * MINUTE;

    let csqs = csq_rows(spec, from);
    let weights = csq_weights(spec.csqs);
    let resources = resource_rows(spec, &weights, &mut rng);
    let staffing =
        staffing::Staffing::plan(&mut rng, resources.len(), from.0, spec.days, offset_ms);

    let sim = calls::simulate(spec, &csqs, &resources, &weights, &staffing, &mut rng);
    let states = states::agent_states(&staffing, sim.agent_events, &resources);
    let call_type_intervals = ucce::aggregate(spec, from, &sim.outcomes);

    Ok(Centre {
        spec: spec.clone(),
        from,
        to,
        csqs,
        resources,
        legs: sim.legs,
        queue_rows: sim.queue_rows,
        agent_rows: sim.agent_rows,
        states,
        call_type_intervals,
    })
}

/// Relative demand per logical CSQ (index 0 = CSQ 1): Zipf-like, first queues busiest.
fn csq_weights(csqs: u32) -> Vec<f64> {
    (0..csqs)
        .map(|i| 1.0 / f64::from(i + 1).powf(0.6))
        .collect()
}

/// One row per logical CSQ, plus a second version of [`CHANGING_CSQ`] from mid-range
/// (new recordid and name, shorter service level).
fn csq_rows(spec: &HrdbSpec, from: UtcMillis) -> Vec<CsqRow> {
    let change_at = change_instant(spec, from);
    let mut rows = Vec::new();
    for i in 0..spec.csqs {
        let id = i as i32 + 1;
        let base = CSQ_NAMES[i as usize % CSQ_NAMES.len()];
        let name = if (i as usize) < CSQ_NAMES.len() {
            base.to_string()
        } else {
            format!("{base} {}", i as usize / CSQ_NAMES.len() + 1)
        };
        let servicelevel = [20, 30, 60][i as usize % 3];
        rows.push(CsqRow {
            recordid: id,
            contactservicequeueid: id,
            csqname: name,
            servicelevel,
            servicelevelpercentage: 80,
            queuealgorithm: "LongestAvailable",
            resourcepooltype: 2,
            valid_from: None,
            replaced_at: (id == CHANGING_CSQ).then_some(change_at),
        });
    }
    if let Some(old) = rows
        .iter()
        .find(|r| r.contactservicequeueid == CHANGING_CSQ)
    {
        let mut new = old.clone();
        new.recordid = spec.csqs as i32 + 1;
        new.csqname = format!("{} Premium", old.csqname);
        new.servicelevel = 15;
        new.valid_from = Some(change_at);
        new.replaced_at = None;
        rows.push(new);
    }
    rows
}

/// Mid-range, at 12:00 UTC of the middle day.
pub(crate) fn change_instant(spec: &HrdbSpec, from: UtcMillis) -> UtcMillis {
    let mid_day = from.0.div_euclid(DAY) + i64::from(spec.days / 2);
    UtcMillis(mid_day * DAY + 12 * HOUR).max(from)
}

/// Agents: primary CSQ in proportion to demand, 40 % also skilled for a second CSQ.
fn resource_rows(spec: &HrdbSpec, weights: &[f64], rng: &mut ChaCha8Rng) -> Vec<ResourceRow> {
    let total: f64 = weights.iter().sum();
    let mut primaries = Vec::with_capacity(spec.agents as usize);
    for i in 0..spec.agents {
        let point = (f64::from(i) + 0.5) / f64::from(spec.agents) * total;
        let mut acc = 0.0;
        let mut chosen = weights.len() - 1;
        for (q, w) in weights.iter().enumerate() {
            acc += w;
            if point < acc {
                chosen = q;
                break;
            }
        }
        primaries.push(chosen as i32 + 1);
    }
    // Spread the queues over the ids so that small agent counts still cover several queues.
    primaries.shuffle(rng);
    let mut rows = Vec::with_capacity(spec.agents as usize);
    for (i, primary) in primaries.into_iter().enumerate() {
        let id = i as i32 + 1;
        let mut csqs = vec![primary];
        if rng.gen::<f64>() < 0.4 {
            let second = rng.gen_range(1..=spec.csqs as i32);
            if second != primary {
                csqs.push(second);
            }
        }
        let first = FIRST_NAMES[rng.gen_range(0..FIRST_NAMES.len())];
        let last = LAST_NAMES[rng.gen_range(0..LAST_NAMES.len())];
        rows.push(ResourceRow {
            resourceid: id,
            resourceloginid: format!("agent{id:05}"),
            resourcename: format!("{first} {last}"),
            extension: format!("{}", 20_000 + id),
            csqs,
        });
    }
    // Every CSQ needs someone: give uncovered queues to agents round-robin as a second skill.
    for q in 1..=spec.csqs as i32 {
        if !rows.iter().any(|r| r.csqs.contains(&q)) {
            let idx = (q as usize) % rows.len();
            rows[idx].csqs.push(q);
        }
    }
    rows
}
