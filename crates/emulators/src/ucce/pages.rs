//! One page of each collection: selection (`q=`), order (`sort=`), window and rendering.

use std::borrow::Cow;

use super::paging::{self, ApiError, ListRequest, PageInfo};
use super::render::{self, Ctx};
use super::xml::W;
use super::{lock, App, Collection, SummaryShape};
use crate::dataset::Resource;

/// The positions of one page of `selected`, with the duplicate quirk applied.
pub(super) fn window(app: &App, selected: &[usize], req: &ListRequest) -> Vec<usize> {
    let total = selected.len() as u64;
    let start = req.start.min(total) as usize;
    let end = req.start.saturating_add(req.size).min(total) as usize;
    let mut page = selected[start..end].to_vec();
    if app.cfg.duplicate_across_pages && start > 0 && start < end {
        page.insert(0, selected[start - 1]);
    }
    page
}

pub(super) fn page_info(app: &App, coll: Collection, req: &ListRequest, total: usize) -> PageInfo {
    let url = format!("{}{}", app.base, coll.path());
    PageInfo::new(&url, req, total as u64, app.cfg.next_page_loop)
}

pub(super) fn agent_matches(r: &Resource, id: u32, q: &str) -> bool {
    let has = |s: &str, v: &str| s.to_lowercase().contains(&v.to_lowercase());
    let team = r.team.as_ref().map(|(_, n)| n.as_str()).unwrap_or_default();
    match q.split_once(':') {
        Some(("userName", v)) => has(&r.user_id, v),
        Some(("firstName", v)) => has(&r.first_name, v),
        Some(("lastName", v)) => has(&r.last_name, v),
        Some(("agentId", v)) => id.to_string() == v.trim(),
        Some(("agentTeam" | "team", v)) => has(team, v),
        _ => has(&r.user_id, q) || has(&r.first_name, q) || has(&r.last_name, q),
    }
}

pub(super) fn agent_page(app: &App, req: &ListRequest, empty: bool) -> Result<String, ApiError> {
    let cc = app.data.read();
    let mut idx = lock(&app.index);
    idx.refresh(&cc);
    let idx = &*idx;
    let mut selected: Cow<'_, [usize]> = Cow::Borrowed(idx.order());
    if empty {
        selected = Cow::Owned(Vec::new());
    }
    if let Some(q) = &req.q {
        let kept = selected
            .iter()
            .copied()
            .filter(|&p| agent_matches(&cc.resources[p], idx.id_at(p), q))
            .collect();
        selected = Cow::Owned(kept);
    }
    if let Some((field, desc)) = &req.sort {
        let mut v = selected.into_owned();
        let rs = &cc.resources;
        match field.as_str() {
            "agentId" | "id" => {}
            "userName" => v.sort_by(|&a, &b| rs[a].user_id.cmp(&rs[b].user_id)),
            "firstName" => v.sort_by(|&a, &b| rs[a].first_name.cmp(&rs[b].first_name)),
            "lastName" => v.sort_by(|&a, &b| rs[a].last_name.cmp(&rs[b].last_name)),
            other => return Err(paging::bad_sort(other)),
        }
        if *desc {
            v.reverse();
        }
        selected = Cow::Owned(v);
    }
    let info = page_info(app, Collection::Agents, req, selected.len());
    let page = window(app, &selected, req);
    let summary = match app.cfg.summary_shape {
        SummaryShape::OnRequest => req.summary,
        SummaryShape::Always => true,
        SummaryShape::Never => false,
    };
    let mut stamps = lock(&app.stamps);
    let mut cx = Ctx {
        cc: &cc,
        idx,
        stamps: &mut stamps,
        seed: app.cfg.optional_seed,
    };
    let mut w = W::new(1024 + page.len() * 1200);
    w.results_start(&info);
    if page.is_empty() {
        w.empty("agents");
    } else {
        w.open("agents");
        for pos in page {
            render::agent(&mut w, &mut cx, pos, summary);
        }
        w.close("agents");
    }
    w.close("results");
    Ok(w.out)
}

/// Sorts `items` by `sort=` (`id` default, or `name`); `Err` for another field.
pub(super) fn sort_named<T>(
    items: &mut [T],
    sort: &Option<(String, bool)>,
    id: impl Fn(&T) -> u32,
    name: impl Fn(&T) -> &str,
) -> Result<(), ApiError> {
    let desc = match sort {
        None => false,
        Some((f, desc)) if f == "id" => *desc,
        Some((f, desc)) if f == "name" => {
            items.sort_by(|a, b| name(a).cmp(name(b)));
            if *desc {
                items.reverse();
            }
            return Ok(());
        }
        Some((f, _)) => return Err(paging::bad_sort(f)),
    };
    items.sort_by_key(|t| id(t));
    if desc {
        items.reverse();
    }
    Ok(())
}

pub(super) fn named_match(name: &str, q: &Option<String>) -> bool {
    match q {
        None => true,
        Some(q) => {
            let q = q.strip_prefix("name:").unwrap_or(q);
            name.to_lowercase().contains(&q.to_lowercase())
        }
    }
}

pub(super) fn team_page(app: &App, req: &ListRequest, empty: bool) -> Result<String, ApiError> {
    let cc = app.data.read();
    let mut idx = lock(&app.index);
    idx.refresh(&cc);
    let mut teams: Vec<&crate::Team> = if empty {
        Vec::new()
    } else {
        cc.teams
            .iter()
            .filter(|t| named_match(&t.name, &req.q))
            .collect()
    };
    sort_named(&mut teams, &req.sort, |t| t.team_id, |t| t.name.as_str())?;
    let info = page_info(app, Collection::Teams, req, teams.len());
    let positions: Vec<usize> = (0..teams.len()).collect();
    let page: Vec<&crate::Team> = window(app, &positions, req)
        .into_iter()
        .map(|i| teams[i])
        .collect();
    let mut stamps = lock(&app.stamps);
    let mut cx = Ctx {
        cc: &cc,
        idx: &idx,
        stamps: &mut stamps,
        seed: app.cfg.optional_seed,
    };
    let members = render::members_of(&cx, &page);
    let mut w = W::new(4096);
    w.results_start(&info);
    if page.is_empty() {
        w.empty("agentTeams");
    } else {
        w.open("agentTeams");
        for t in page {
            let m = members.get(&t.team_id).map(Vec::as_slice).unwrap_or(&[]);
            render::team(&mut w, &mut cx, t, m);
        }
        w.close("agentTeams");
    }
    w.close("results");
    Ok(w.out)
}

pub(super) fn skill_page(app: &App, req: &ListRequest, empty: bool) -> Result<String, ApiError> {
    let cc = app.data.read();
    let mut idx = lock(&app.index);
    idx.refresh(&cc);
    let mut groups: Vec<render::SkillGroup> = if empty {
        Vec::new()
    } else {
        render::skill_groups(&cc)
            .into_iter()
            .filter(|s| named_match(&s.name, &req.q))
            .collect()
    };
    sort_named(&mut groups, &req.sort, |s| s.id, |s| s.name.as_str())?;
    let info = page_info(app, Collection::Skills, req, groups.len());
    let positions: Vec<usize> = (0..groups.len()).collect();
    let page = window(app, &positions, req);
    let mut stamps = lock(&app.stamps);
    let mut cx = Ctx {
        cc: &cc,
        idx: &idx,
        stamps: &mut stamps,
        seed: app.cfg.optional_seed,
    };
    let mut w = W::new(4096);
    w.results_start(&info);
    if page.is_empty() {
        w.empty("skillGroups");
    } else {
        w.open("skillGroups");
        for i in page {
            render::skill_group(&mut w, &mut cx, &groups[i]);
        }
        w.close("skillGroups");
    }
    w.close("results");
    Ok(w.out)
}
