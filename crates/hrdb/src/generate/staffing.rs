//! The time-of-day curve, who is logged in when, and the arrival rate that follows.
//!
//! The range is cut into 15-minute slots. The curve gives, per local hour, the fraction of
//! agents on duty (business hours with a morning and an afternoon peak, a lunch dip, quiet
//! nights; Saturday and Sunday lower). Each agent draws a rank per 8-hour block of local time
//! and is on duty in a slot when its rank is below the curve, so staffing follows the curve
//! and shifts last at most a block or two. Offered calls per slot are
//! `calls_per_agent_hour × agents on duty`.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::clock::{weekday, DAY, HOUR, MINUTE};

/// Slot length in milliseconds (15 minutes).
pub const SLOT: i64 = 15 * MINUTE;
const BLOCK: i64 = 8 * HOUR;

/// Fraction of agents on duty per local hour on a weekday.
const WEEKDAY_CURVE: [f64; 24] = [
    0.03, 0.02, 0.02, 0.02, 0.02, 0.03, 0.08, 0.30, // 00-07
    0.70, 0.95, 1.00, 0.90, 0.70, 0.75, 0.90, 0.95, // 08-15
    0.80, 0.55, 0.35, 0.20, 0.12, 0.08, 0.05, 0.04, // 16-23
];

/// Day factors, Monday first.
const DAY_FACTOR: [f64; 7] = [1.0, 0.97, 0.95, 0.95, 0.9, 0.35, 0.2];

/// Who is on duty in which slot.
pub struct Staffing {
    /// UTC instant of slot 0.
    pub start: i64,
    /// Number of slots.
    pub slots: usize,
    /// on_duty[agent][slot]
    on_duty: Vec<Vec<bool>>,
    /// Agents on duty per slot.
    pub counts: Vec<u32>,
}

/// The curve value (fraction of agents wanted) at a UTC instant.
pub fn curve(at: i64, utc_offset_ms: i64) -> f64 {
    let local = at + utc_offset_ms;
    let day = local.div_euclid(DAY);
    let hour = (local.rem_euclid(DAY) / HOUR) as usize;
    let wd = weekday(day) as usize;
    WEEKDAY_CURVE[hour.min(23)] * DAY_FACTOR[wd.min(6)]
}

impl Staffing {
    /// Plans the duty of `agents` agents over `[start, start + days)`.
    pub fn plan(
        rng: &mut ChaCha8Rng,
        agents: usize,
        start: i64,
        days: u32,
        utc_offset_ms: i64,
    ) -> Staffing {
        let slots = (i64::from(days) * DAY / SLOT) as usize;
        let mut on_duty = vec![vec![false; slots]; agents];
        let mut counts = vec![0u32; slots];
        // Blocks are aligned on local 06:00, 14:00, 22:00.
        let block_of = |at: i64| (at + utc_offset_ms - 6 * HOUR).div_euclid(BLOCK);
        let first_block = block_of(start);
        let last_block = block_of(start + i64::from(days) * DAY);
        let blocks = (last_block - first_block + 1) as usize;
        for duty in on_duty.iter_mut() {
            let ranks: Vec<f64> = (0..blocks).map(|_| rng.gen::<f64>()).collect();
            for (slot, cell) in duty.iter_mut().enumerate() {
                let at = start + slot as i64 * SLOT;
                let block = (block_of(at) - first_block) as usize;
                let rank = ranks.get(block).copied().unwrap_or(1.0);
                *cell = rank < curve(at, utc_offset_ms);
            }
        }
        for duty in &on_duty {
            for (slot, cell) in duty.iter().enumerate() {
                if *cell {
                    counts[slot] += 1;
                }
            }
        }
        Staffing {
            start,
            slots,
            on_duty,
            counts,
        }
    }

    /// The slot index of an instant, if inside the planned range.
    pub fn slot_of(&self, at: i64) -> Option<usize> {
        if at < self.start {
            return None;
        }
        let slot = ((at - self.start) / SLOT) as usize;
        (slot < self.slots).then_some(slot)
    }

    /// Whether agent index `agent` is on duty at `at` (false outside the range).
    pub fn on_duty(&self, agent: usize, at: i64) -> bool {
        match (self.slot_of(at), self.on_duty.get(agent)) {
            (Some(slot), Some(duty)) => duty[slot],
            _ => false,
        }
    }

    /// The duty windows `[start, end)` of one agent, merged across slots and midnights.
    pub fn windows(&self, agent: usize) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        let Some(duty) = self.on_duty.get(agent) else {
            return out;
        };
        let mut open: Option<usize> = None;
        for (slot, cell) in duty.iter().enumerate() {
            match (open, *cell) {
                (None, true) => open = Some(slot),
                (Some(first), false) => {
                    out.push((self.slot_start(first), self.slot_start(slot)));
                    open = None;
                }
                _ => {}
            }
        }
        if let Some(first) = open {
            out.push((self.slot_start(first), self.slot_start(self.slots)));
        }
        out
    }

    fn slot_start(&self, slot: usize) -> i64 {
        self.start + slot as i64 * SLOT
    }
}
