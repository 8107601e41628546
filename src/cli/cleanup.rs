//! `oauthd cleanup`: one janitor pass by hand.

use super::JsonFlag;
use crate::oauth::Authority;

pub async fn run(auth: &Authority, flag: JsonFlag) -> anyhow::Result<()> {
    let report = crate::janitor::run_once(auth).await?;
    if flag.json {
        println!("{}", serde_json::to_string(&report)?);
    } else if report.skipped {
        println!("another instance is running a pass on this database; nothing done");
    } else {
        println!("access tokens deleted:    {}", report.access_tokens);
        println!("refresh tokens deleted:   {}", report.refresh_tokens);
        println!("grant families deleted:   {}", report.families);
        println!("replay responses dropped: {}", report.replays_dropped);
        println!("authorization codes deleted: {}", report.codes);
        println!("security events deleted:  {}", report.security_events);
        println!("sign-in sessions deleted: {}", report.sessions);
        println!("login throttles deleted:  {}", report.login_throttles);
        println!("backlog at start:         {}", report.backlog);
        println!("batches: {}, slowest {} ms, pass {} ms", report.batches, report.max_batch_ms, report.elapsed_ms);
    }
    Ok(())
}
