//! What to generate: [`HrdbSpec`] and its validation.

use time::OffsetDateTime;

use crate::error::HrdbError;

/// The parameters of a generated contact centre. Same spec (including `seed`) → same rows.
#[derive(Clone, Debug, PartialEq)]
pub struct HrdbSpec {
    /// Seed of the ChaCha8 random generator; every random choice derives from it.
    pub seed: u64,
    /// Number of agents (`resource` rows, `resourceid` 1..=agents).
    pub agents: u32,
    /// Number of logical CSQs (`contactservicequeueid` 1..=csqs); at least 2 because one of
    /// them changes its configuration mid-range and calls can be queued to two CSQs at once.
    pub csqs: u32,
    /// First instant of the generated range (the site's midnight is not required).
    pub from: OffsetDateTime,
    /// Length of the range in days.
    pub days: u32,
    /// Offered calls per logged-in agent per hour (the arrival rate follows the staffing curve,
    /// so occupancy stays realistic at any size). 10.0 ≈ 80 % occupancy: about 4–5 %
    /// abandoned and 2.8 million legs for 90 days × 400 agents.
    pub calls_per_agent_hour: f64,
    /// Native UCCE interval length in minutes: 15 or 30.
    pub interval_minutes: u32,
    /// The site's (and the UCCE central controller's) fixed offset from UTC in minutes, e.g.
    /// -300 for US Eastern standard time. Shapes the business-hours curve and is the value of
    /// the UCCE `timezone` columns. No daylight-saving changes are modelled.
    pub utc_offset_minutes: i32,
    /// Also produce UCCE `agent_state_trace` rows (one per UCCX agent state change).
    pub agent_state_trace: bool,
}

impl HrdbSpec {
    /// The defaults: 400 agents, 12 CSQs, 7 days from Monday 2026-01-05 00:00 UTC, seed 7,
    /// 10 calls per agent-hour, 15-minute UCCE intervals, site at UTC-5, no agent state trace.
    pub fn new() -> HrdbSpec {
        HrdbSpec {
            seed: 7,
            agents: 400,
            csqs: 12,
            from: time::macros::datetime!(2026-01-05 00:00 UTC),
            days: 7,
            calls_per_agent_hour: 10.0,
            interval_minutes: 15,
            utc_offset_minutes: -300,
            agent_state_trace: false,
        }
    }

    /// Checks ranges; every problem is reported at once.
    pub fn validate(&self) -> Result<(), HrdbError> {
        let mut problems = Vec::new();
        if self.agents == 0 || self.agents > 100_000 {
            problems.push(format!("agents must be 1..=100000, got {}", self.agents));
        }
        if self.csqs < 2 || self.csqs > 1_000 {
            problems.push(format!("csqs must be 2..=1000, got {}", self.csqs));
        }
        if self.days == 0 || self.days > 3_660 {
            problems.push(format!("days must be 1..=3660, got {}", self.days));
        }
        if !(self.calls_per_agent_hour > 0.0 && self.calls_per_agent_hour <= 60.0) {
            problems.push(format!(
                "calls_per_agent_hour must be in (0, 60], got {}",
                self.calls_per_agent_hour
            ));
        }
        if self.interval_minutes != 15 && self.interval_minutes != 30 {
            problems.push(format!(
                "interval_minutes must be 15 or 30, got {}",
                self.interval_minutes
            ));
        }
        if self.utc_offset_minutes.abs() > 14 * 60 {
            problems.push(format!(
                "utc_offset_minutes must be within ±840, got {}",
                self.utc_offset_minutes
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(HrdbError::InvalidSpec(problems.join("; ")))
        }
    }
}

impl Default for HrdbSpec {
    fn default() -> Self {
        HrdbSpec::new()
    }
}
