//! Dropping root after the sockets are open: the data directory is given to the user, then
//! the process becomes that user and its primary group.

use std::path::Path;

use nix::unistd::{chown, setgid, setgroups, setuid, User};
use tracing::info;

/// Gives `dir` (recursively) to `user` and becomes that user. The error says what failed.
pub fn become_user(dir: &Path, user: &str) -> Result<(), String> {
    let u = User::from_name(user)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "no such user".to_owned())?;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        chown(&p, Some(u.uid), Some(u.gid)).map_err(|e| format!("chown {}: {e}", p.display()))?;
        if p.is_dir() {
            let rd = std::fs::read_dir(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            for e in rd.flatten() {
                stack.push(e.path());
            }
        }
    }
    setgroups(&[u.gid]).map_err(|e| format!("setgroups: {e}"))?;
    setgid(u.gid).map_err(|e| format!("setgid: {e}"))?;
    setuid(u.uid).map_err(|e| format!("setuid: {e}"))?;
    info!(user, uid = u.uid.as_raw(), "privileges dropped");
    Ok(())
}
