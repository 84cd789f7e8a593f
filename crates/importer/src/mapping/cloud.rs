//! Webex Contact Center, Zoom and Microsoft Graph users and teams → directory snapshots.
