//! The call simulation: arrivals follow staffing, each leg queues to one or two CSQs, the
//! longest-available skilled agent on duty takes it (first come, first served), callers
//! abandon when their patience runs out, and the rows of each leg are produced with the
//! instant UCCX writes them (after the last wrap-up of the leg).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::staffing::{Staffing, SLOT};
use super::ucce::LegOutcome;
use crate::clock::{UtcMillis, HOUR, SECOND};
use crate::model::{AgentRow, CallLeg, CsqRow, Originator, QueueRow, ResourceRow, REASON_RNA};
use crate::spec::HrdbSpec;

/// An agent state event: (instant, eventtype, reasoncode).
pub type AgentEvent = (i64, i16, i16);

/// Everything the simulation produced.
pub struct Simulation {
    pub legs: Vec<CallLeg>,
    pub queue_rows: Vec<QueueRow>,
    pub agent_rows: Vec<AgentRow>,
    /// Per agent index, call-related state events in time order.
    pub agent_events: Vec<Vec<AgentEvent>>,
    pub outcomes: Vec<LegOutcome>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Job {
    /// When the leg enters the queue.
    entry: i64,
    counter: u64,
    /// When the leg (CCD) starts.
    start: i64,
    sessionid: i64,
    seq: i16,
    /// 0 for a new call; else the transferring agent's index + 1.
    from_agent: usize,
    /// Target logical CSQ of a transfer (0 for a new call: drawn when processed).
    csq: i32,
}

/// The scenario of a first leg.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Normal,
    Aborted,
    Script,
    Dual(i32),
    Dequeue(i32, i64),
}

struct Presented {
    agent: usize,
    /// Index into the queue list the agent was reached through.
    queue: usize,
    ring_start: i64,
}

struct Rona {
    agent: usize,
    queue: usize,
    ring_start: i64,
    ring_end: i64,
}

struct Sim<'a> {
    spec: &'a HrdbSpec,
    csqs: &'a [CsqRow],
    resources: &'a [ResourceRow],
    staffing: &'a Staffing,
    rng: &'a mut ChaCha8Rng,
    csq_agents: Vec<Vec<usize>>,
    free_at: Vec<i64>,
    out: Simulation,
    contactid: i32,
}

/// Runs the simulation over the whole range.
pub fn simulate(
    spec: &HrdbSpec,
    csqs: &[CsqRow],
    resources: &[ResourceRow],
    weights: &[f64],
    staffing: &Staffing,
    rng: &mut ChaCha8Rng,
) -> Simulation {
    let mut csq_agents = vec![Vec::new(); spec.csqs as usize];
    for (idx, r) in resources.iter().enumerate() {
        for q in &r.csqs {
            if let Some(list) = csq_agents.get_mut((*q - 1) as usize) {
                list.push(idx);
            }
        }
    }
    let mut sim = Sim {
        spec,
        csqs,
        resources,
        staffing,
        rng,
        csq_agents,
        free_at: vec![i64::MIN / 2; resources.len()],
        out: Simulation {
            legs: Vec::new(),
            queue_rows: Vec::new(),
            agent_rows: Vec::new(),
            agent_events: vec![Vec::new(); resources.len()],
            outcomes: Vec::new(),
        },
        contactid: 0,
    };
    let total_weight: f64 = weights.iter().sum();
    let mut heap: BinaryHeap<Reverse<Job>> = BinaryHeap::new();
    let mut counter = 0u64;
    let mut next_session = 100_000_000_001i64;
    let mut next_slot = 0usize;
    loop {
        let slot_start = staffing.start + next_slot as i64 * SLOT;
        let need_slot = next_slot < staffing.slots
            && heap.peek().is_none_or(|Reverse(j)| j.entry >= slot_start);
        if need_slot {
            let rate_per_ms =
                spec.calls_per_agent_hour * f64::from(staffing.counts[next_slot]) / HOUR as f64;
            let mut t = slot_start as f64;
            if rate_per_ms > 0.0 {
                loop {
                    t += exponential(sim.rng, 1.0 / rate_per_ms);
                    if t >= (slot_start + SLOT) as f64 {
                        break;
                    }
                    let start = t as i64;
                    let entry = start + sim.rng.gen_range(10..=45) * SECOND;
                    counter += 1;
                    heap.push(Reverse(Job {
                        entry,
                        counter,
                        start,
                        sessionid: next_session,
                        seq: 0,
                        from_agent: 0,
                        csq: 0,
                    }));
                    next_session += 1;
                }
            }
            next_slot += 1;
            continue;
        }
        let Some(Reverse(mut job)) = heap.pop() else {
            break;
        };
        if job.csq == 0 {
            job.csq = pick_weighted(sim.rng, weights, total_weight);
        }
        if let Some(transfer) = sim.run_leg(&job) {
            counter += 1;
            heap.push(Reverse(Job {
                counter,
                ..transfer
            }));
        }
    }
    sim.out
}

fn pick_weighted(rng: &mut ChaCha8Rng, weights: &[f64], total: f64) -> i32 {
    let mut point = rng.gen::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if point < *w {
            return i as i32 + 1;
        }
        point -= w;
    }
    weights.len() as i32
}

fn exponential(rng: &mut ChaCha8Rng, mean: f64) -> f64 {
    let u: f64 = rng.gen_range(f64::EPSILON..1.0);
    -u.ln() * mean
}

fn lognormal(rng: &mut ChaCha8Rng, median: f64, sigma: f64) -> f64 {
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen::<f64>();
    let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    median * (sigma * z).exp()
}

fn secs(ms: i64) -> i32 {
    (ms / SECOND).clamp(0, i64::from(i32::MAX)) as i32
}

impl Sim<'_> {
    /// The CSQ version (row) of a logical CSQ current at `at`.
    fn csq_at(&self, logical: i32, at: i64) -> &CsqRow {
        let mut best = &self.csqs[0];
        for row in self.csqs {
            if row.contactservicequeueid != logical {
                continue;
            }
            let started = row.valid_from.is_none_or(|f| f.0 <= at);
            let ended = row.replaced_at.is_some_and(|r| r.0 <= at);
            if started && !ended {
                return row;
            }
            best = row;
        }
        best
    }

    /// The longest-available skilled agent on duty for any of `queues`, from `at` on.
    fn find_agent(
        &self,
        queues: &[i32],
        at: i64,
        exclude: Option<usize>,
    ) -> Option<(usize, usize, i64)> {
        let mut best: Option<(usize, usize, i64)> = None;
        for (qi, q) in queues.iter().enumerate() {
            let Some(list) = self.csq_agents.get((*q - 1) as usize) else {
                continue;
            };
            for &a in list {
                if Some(a) == exclude {
                    continue;
                }
                let avail = at.max(self.free_at[a] + 3 * SECOND);
                if !self.staffing.on_duty(a, avail) {
                    continue;
                }
                let better = match best {
                    None => true,
                    Some((b, _, b_avail)) => {
                        (avail, self.free_at[a], a) < (b_avail, self.free_at[b], b)
                    }
                };
                if better {
                    best = Some((a, qi, avail));
                }
            }
        }
        best
    }

    /// Waits in `queues` from `entry` until an agent is presented or `give_up`. A first
    /// presentation may ring out (RONA); the call then goes to the next agent.
    fn serve(
        &mut self,
        queues: &[i32],
        entry: i64,
        give_up: i64,
    ) -> (Option<Presented>, Option<Rona>, i64) {
        let mut t = entry;
        let mut rona: Option<Rona> = None;
        loop {
            let exclude = rona.as_ref().map(|r| r.agent);
            let found = self.find_agent(queues, t, exclude);
            let deadline = give_up.max(t);
            let Some((agent, queue, avail)) = found.filter(|f| f.2 <= deadline) else {
                return (None, rona, deadline);
            };
            if rona.is_none() && self.rng.gen::<f64>() < 0.02 {
                let ring_end = avail + 12 * SECOND;
                let ready = ring_end + self.rng.gen_range(30..=120) * SECOND;
                self.free_at[agent] = ready;
                let events = &mut self.out.agent_events[agent];
                events.push((avail, 4, 0));
                events.push((ring_end, 2, REASON_RNA));
                events.push((ready, 3, 0));
                rona = Some(Rona {
                    agent,
                    queue,
                    ring_start: avail,
                    ring_end,
                });
                t = ring_end;
                continue;
            }
            return (
                Some(Presented {
                    agent,
                    queue,
                    ring_start: avail,
                }),
                rona,
                avail,
            );
        }
    }

    /// Simulates one leg; returns the transfer leg it spawns, if any.
    fn run_leg(&mut self, job: &Job) -> Option<Job> {
        self.contactid += 1;
        let contactid = self.contactid;
        let q1 = job.csq;
        let scenario = if job.seq > 0 {
            Scenario::Normal
        } else {
            self.pick_scenario(q1)
        };
        let entry = job.entry;
        let patience = exponential(self.rng, 180_000.0) as i64 + 2 * SECOND;
        let give_up = entry + patience;
        let first = self.csq_at(q1, entry).clone();
        let mut outcome = LegOutcome::new(q1, entry, i64::from(first.servicelevel) * SECOND);
        let mut queue_rows: Vec<QueueRow> = Vec::new();
        let mut agent_rows: Vec<AgentRow> = Vec::new();
        let qrow = |recordid: i32, qindex: i16, disposition: i16, wait_ms: i64, sl: i32| QueueRow {
            sessionid: job.sessionid,
            sessionseqnum: job.seq,
            contactid,
            targetid: recordid,
            targettype: 0,
            qindex,
            start: UtcMillis(job.start),
            disposition,
            metservicelevel: disposition == 2 && wait_ms <= i64::from(sl) * SECOND,
            queuetime: secs(wait_ms).min(i32::from(i16::MAX)),
            write: UtcMillis(0),
        };

        let end;
        let mut contactdisposition = 2;
        // (agent index, talk seconds, hold seconds) of the agent who took the leg.
        let mut answered: Option<(usize, i32, i32)> = None;
        let mut transfer = None;
        match scenario {
            Scenario::Aborted => {
                let wait = self.rng.gen_range(1..=10) * SECOND;
                end = entry + wait;
                contactdisposition = 4;
                queue_rows.push(qrow(first.recordid, 1, 1, wait, first.servicelevel));
                outcome.abandon(end, wait);
            }
            Scenario::Script => {
                let wait = self.rng.gen_range(15..=60) * SECOND;
                end = entry + wait + self.rng.gen_range(30..=120) * SECOND;
                queue_rows.push(qrow(first.recordid, 1, 4, wait, first.servicelevel));
                outcome.left_queue(entry + wait, wait);
            }
            Scenario::Normal | Scenario::Dual(_) | Scenario::Dequeue(_, _) => {
                let mut queues = vec![q1];
                let mut versions = vec![first.clone()];
                let mut step_give_up = give_up;
                if let Scenario::Dual(q2) = scenario {
                    queues.push(q2);
                    versions.push(self.csq_at(q2, entry).clone());
                }
                if let Scenario::Dequeue(_, after) = scenario {
                    step_give_up = give_up.min(entry + after);
                }
                let (mut presented, mut rona, mut left) = self.serve(&queues, entry, step_give_up);
                let mut base_qindex = 1i16;
                let mut queue_entry = entry;
                if let Scenario::Dequeue(q2, _) = scenario {
                    if presented.is_none() && step_give_up < give_up && left < give_up {
                        // Dequeued from the first CSQ by the script, queued to the second.
                        queue_rows.push(qrow(
                            first.recordid,
                            1,
                            3,
                            left - entry,
                            first.servicelevel,
                        ));
                        queue_entry = left;
                        base_qindex = 2;
                        queues = vec![q2];
                        versions = vec![self.csq_at(q2, left).clone()];
                        let prior_rona = rona.take();
                        let (p, r, l) = self.serve(&queues, queue_entry, give_up);
                        presented = p;
                        rona = r.or(prior_rona);
                        left = l;
                    }
                }
                let wait = left - queue_entry;
                match presented {
                    None => {
                        end = left;
                        contactdisposition = 1;
                        for (i, v) in versions.iter().enumerate() {
                            queue_rows.push(qrow(
                                v.recordid,
                                base_qindex + i as i16,
                                1,
                                wait,
                                v.servicelevel,
                            ));
                        }
                        outcome.abandon(left, left - entry);
                    }
                    Some(p) => {
                        for (i, v) in versions.iter().enumerate() {
                            let disposition = if i == p.queue { 2 } else { 5 };
                            queue_rows.push(qrow(
                                v.recordid,
                                base_qindex + i as i16,
                                disposition,
                                wait,
                                v.servicelevel,
                            ));
                        }
                        let ring = self.rng.gen_range(2..=8) * SECOND;
                        let answer = p.ring_start + ring;
                        let talk = lognormal(self.rng, 200.0, 0.6).clamp(10.0, 3600.0) as i64;
                        let hold = if self.rng.gen::<f64>() < 0.25 {
                            self.rng.gen_range(10..=120)
                        } else {
                            0
                        };
                        let work = (5.0 + exponential(self.rng, 40.0)).min(600.0) as i64;
                        let disconnect = answer + (talk + hold) * SECOND;
                        let wrap_end = disconnect + work * SECOND;
                        self.free_at[p.agent] = wrap_end;
                        let events = &mut self.out.agent_events[p.agent];
                        events.push((p.ring_start, 4, 0));
                        events.push((answer, 5, 0));
                        events.push((disconnect, 6, 0));
                        events.push((wrap_end, 3, 0));
                        end = disconnect;
                        outcome.answer(p.ring_start, answer, p.ring_start - entry);
                        outcome.handle(wrap_end, talk as i32, hold as i32, work as i32);
                        let qindex = base_qindex + p.queue as i16;
                        answered = Some((p.agent, talk as i32, hold as i32));
                        let recordid = versions[p.queue].recordid;
                        let agent = p.agent;
                        agent_rows.push(AgentRow {
                            sessionid: job.sessionid,
                            sessionseqnum: job.seq,
                            contactid,
                            resourceid: self.resources[agent].resourceid,
                            start: UtcMillis(p.ring_start),
                            end: UtcMillis(disconnect),
                            qindex,
                            ringtime: secs(ring),
                            talktime: talk as i32,
                            holdtime: hold as i32,
                            worktime: work as i32,
                            csqrecordid: recordid,
                            rna: false,
                            write: UtcMillis(0),
                        });
                        if job.seq == 0 && self.rng.gen::<f64>() < 0.06 {
                            let mut target = self.rng.gen_range(1..=self.spec.csqs as i32);
                            if target == q1 {
                                target = target % self.spec.csqs as i32 + 1;
                            }
                            let leg_entry = disconnect + self.rng.gen_range(1..=3) * SECOND;
                            transfer = Some(Job {
                                entry: leg_entry,
                                counter: 0,
                                start: disconnect,
                                sessionid: job.sessionid,
                                seq: job.seq + 1,
                                from_agent: agent + 1,
                                csq: target,
                            });
                        }
                    }
                }
                if let Some(r) = rona {
                    let qindex = base_qindex + r.queue as i16;
                    agent_rows.insert(
                        0,
                        AgentRow {
                            sessionid: job.sessionid,
                            sessionseqnum: job.seq,
                            contactid,
                            resourceid: self.resources[r.agent].resourceid,
                            start: UtcMillis(r.ring_start),
                            end: UtcMillis(r.ring_end),
                            qindex,
                            ringtime: secs(r.ring_end - r.ring_start),
                            talktime: 0,
                            holdtime: 0,
                            worktime: 0,
                            csqrecordid: versions
                                .get(r.queue)
                                .map(|v| v.recordid)
                                .unwrap_or(first.recordid),
                            rna: true,
                            write: UtcMillis(0),
                        },
                    );
                    outcome.rona(r.ring_end);
                }
            }
        }
        let mut write = end;
        for row in &agent_rows {
            write = write.max(row.end.0 + i64::from(row.worktime) * SECOND);
        }
        let write = UtcMillis(write);
        for row in &mut queue_rows {
            row.write = write;
        }
        for row in &mut agent_rows {
            row.write = write;
        }
        let (originator, applicationid) = match job.from_agent {
            0 => (
                Originator::Caller(2_125_550_000 + (job.sessionid % 9_999) as u64),
                q1,
            ),
            n => (Originator::Agent(self.resources[n - 1].resourceid), q1),
        };
        let connecttime = answered.map(|a| a.1 + a.2).unwrap_or(0);
        self.out.legs.push(CallLeg {
            sessionid: job.sessionid,
            sessionseqnum: job.seq,
            contactid,
            contacttype: if job.seq == 0 { 1 } else { 5 },
            contactdisposition,
            originator,
            destinationid: answered
                .map(|a| self.resources[a.0].resourceid)
                .unwrap_or(0),
            start: UtcMillis(job.start),
            end: UtcMillis(end),
            connecttime,
            applicationid,
            transfer: transfer.is_some(),
            redirect: false,
            conference: answered.is_some() && self.rng.gen::<f64>() < 0.01,
            write,
        });
        self.out.queue_rows.extend(queue_rows);
        self.out.agent_rows.extend(agent_rows);
        self.out.outcomes.push(outcome);
        transfer
    }

    fn pick_scenario(&mut self, q1: i32) -> Scenario {
        let roll = self.rng.gen::<f64>();
        let other = |rng: &mut ChaCha8Rng, csqs: u32| {
            let q = rng.gen_range(1..=csqs as i32);
            if q == q1 {
                q % csqs as i32 + 1
            } else {
                q
            }
        };
        if roll < 0.003 {
            Scenario::Aborted
        } else if roll < 0.013 {
            Scenario::Script
        } else if roll < 0.063 {
            Scenario::Dual(other(self.rng, self.spec.csqs))
        } else if roll < 0.083 {
            let after = self.rng.gen_range(20..=60) * SECOND;
            Scenario::Dequeue(other(self.rng, self.spec.csqs), after)
        } else {
            Scenario::Normal
        }
    }
}
