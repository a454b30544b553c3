//! Keeping routing in step with administrators' changes to users, stations and
//! workgroups: every change is applied to the router at once, so a new member, a new
//! skill or more room is offered waiting work the instant it is saved.

use std::sync::Arc;

use super::service::{Interactions, Rules, profile};
use crate::clock::now_ms;
use crate::routing::AgentStatus;
use crate::store::directory::{Station, User, Workgroup};

impl Interactions {
    /// Takes the turn for one directory change: hold it from the store write until
    /// routing has been told (`user_changed`, `workgroup_changed`, ...), so two
    /// administrators' changes reach routing in the order they were committed.
    pub async fn directory_change(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.directory_order.lock().await
    }

    /// A user was created or changed (rights, skills, utilization, station).
    pub async fn user_changed(self: &Arc<Self>, user: &User) {
        let now = now_ms();
        let station_rights = user
            .station
            .as_ref()
            .and_then(|s| {
                self.stations
                    .lock()
                    .unwrap()
                    .get(s)
                    .map(|st| st.rights.iter().cloned().collect())
            })
            .unwrap_or_default();
        let (id, profile) = (user.id, profile(user));
        let status = self.router.status(id).unwrap_or(AgentStatus::Away);
        self.apply(move |r| {
            let mut offers = r.upsert_agent(id, profile, status, now);
            offers.extend(r.set_station_rights(id, station_rights, now));
            offers
        })
        .await;
    }

    /// A user was deleted: they take no more work.
    pub async fn user_removed(self: &Arc<Self>, id: i64) {
        self.apply(move |r| r.set_status(id, AgentStatus::LoggedOut, now_ms()))
            .await;
    }

    /// A workgroup was created or changed.
    pub async fn workgroup_changed(self: &Arc<Self>, group: &Workgroup) {
        self.rules
            .lock()
            .unwrap()
            .insert(group.name.clone(), Rules::of(group));
        let (name, members, util) = (
            group.name.clone(),
            group.members.clone(),
            group.utilization.clone(),
        );
        self.apply(move |r| r.set_workgroup(&name, &members, util, now_ms()))
            .await;
    }

    /// A workgroup was deleted: it has no members left to offer to.
    pub async fn workgroup_removed(self: &Arc<Self>, name: &str) {
        self.rules.lock().unwrap().remove(name);
        let name = name.to_owned();
        self.apply(move |r| r.set_workgroup(&name, &[], Default::default(), now_ms()))
            .await;
    }

    /// A station was created, changed or deleted (`None`): agents logged in there get
    /// its new rights.
    pub async fn station_changed(
        self: &Arc<Self>,
        old_name: &str,
        station: Option<&Station>,
        users: &[User],
    ) {
        {
            let mut stations = self.stations.lock().unwrap();
            stations.remove(old_name);
            if let Some(s) = station {
                stations.insert(s.name.clone(), s.clone());
            }
        }
        for user in users {
            self.user_changed(user).await;
        }
    }
}
