//! Rebuild when a migration is added: `sqlx::migrate!` embeds migrations/ at compile time, and
//! without this a new file alone does not trigger a rebuild (as sqlx's documentation says).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
