//! The default rule table, activity lookup and rule overrides.

use std::borrow::Cow;

use wfm_protocol::states::AgentState;

use crate::model::{Activity, ActivityKind, Rule, Status};

/// Activity definitions plus rule overrides; everything not overridden follows
/// [`default_status`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleBook {
    /// Activity definitions (kind and tolerances).
    pub activities: Vec<Activity>,
    /// Overrides of the default table.
    pub rules: Vec<Rule>,
}

impl RuleBook {
    /// The activity a schedule entry's `id` refers to: a defined one, else a built-in one when
    /// the id is a kind name (`open`, `phone`, `break`, `lunch`, `meeting`, `training`,
    /// `offline`; no tolerances), else `None` (its time is neutral, [`crate::Basis::UnknownActivity`]).
    pub fn activity<'a>(&'a self, id: &str) -> Option<Cow<'a, Activity>> {
        if let Some(found) = self.activities.iter().find(|activity| activity.id == id) {
            return Some(Cow::Borrowed(found));
        }
        ActivityKind::parse(id).map(|kind| Cow::Owned(Activity::new(id, kind)))
    }

    /// The status of `state` (with `reason_code`) during `activity` (`None` = unscheduled):
    /// an override for exactly this reason code, else an override for any reason code, else
    /// the default table.
    pub fn status(
        &self,
        activity: Option<&Activity>,
        state: AgentState,
        reason_code: Option<i64>,
    ) -> Status {
        let activity_id = activity.map(|activity| activity.id.as_str());
        let mut any_reason = None;
        for rule in &self.rules {
            if rule.activity.as_deref() != activity_id || rule.state != state {
                continue;
            }
            match rule.reason_code {
                Some(code) if Some(code) == reason_code => return rule.status,
                Some(_) => {}
                None => {
                    if any_reason.is_none() {
                        any_reason = Some(rule.status);
                    }
                }
            }
        }
        if let Some(status) = any_reason {
            return status;
        }
        default_status(activity.map(|activity| activity.kind), state)
    }
}

/// The default table (reason codes do not matter here; `None` = nothing scheduled).
///
/// | state \ activity | open | break, lunch | meeting, training | offline | unscheduled |
/// |---|---|---|---|---|---|
/// | ready, reserved, talking, hold, work, busy_other | In | Out | Out | Out | Neutral |
/// | logged_in | In | Neutral | Neutral | Neutral | Neutral |
/// | not_ready (any reason) | Out | In | In | In | Neutral |
/// | logged_out | Out | Neutral | Neutral | In | In |
/// | unknown | Neutral | Neutral | Neutral | Neutral | Neutral |
///
/// Logging out is in adherence only when nothing is scheduled or the activity is off the
/// phones altogether (NICE: "Logoff is in adherence only when unscheduled"); during breaks,
/// lunch, meetings and training it is neutral (many sites log off for them, others do not).
/// Logging in is a transient on the way to ready and counts with open activities (NICE).
pub fn default_status(kind: Option<ActivityKind>, state: AgentState) -> Status {
    let handling = is_in_service(state);
    if state == AgentState::Unknown {
        return Status::Neutral;
    }
    let Some(kind) = kind else {
        return if state == AgentState::LoggedOut {
            Status::In
        } else {
            Status::Neutral
        };
    };
    match kind {
        ActivityKind::Open => {
            if handling || state == AgentState::LoggedIn {
                Status::In
            } else {
                Status::Out
            }
        }
        ActivityKind::Break
        | ActivityKind::Lunch
        | ActivityKind::Meeting
        | ActivityKind::Training => match state {
            AgentState::NotReady => Status::In,
            AgentState::LoggedOut | AgentState::LoggedIn => Status::Neutral,
            _ => Status::Out,
        },
        ActivityKind::Offline => match state {
            AgentState::NotReady | AgentState::LoggedOut => Status::In,
            AgentState::LoggedIn => Status::Neutral,
            _ => Status::Out,
        },
    }
}

/// Whether a state is worked (in-service) time for conformance: ready, reserved, talking,
/// hold, work and busy-other.
pub fn is_in_service(state: AgentState) -> bool {
    matches!(
        state,
        AgentState::Ready
            | AgentState::Reserved
            | AgentState::Talking
            | AgentState::Hold
            | AgentState::Work
            | AgentState::BusyOther
    )
}
