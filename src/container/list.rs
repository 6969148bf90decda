//! `state` and `list`.

use super::Result;
use crate::state::Root;
use std::io::Write;

/// `state ID`: the runtime-spec state object, as indented JSON like runc prints it.
pub fn state(root: &Root, id: &str) -> Result<String> {
    let dir = root.open(id)?;
    let st = dir.load()?;
    let status = dir.live_status(&st);
    Ok(serde_json::to_string_pretty(&st.oci_json(status)).unwrap_or_default())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListFormat {
    Table,
    Json,
}

pub fn list(root: &Root, format: ListFormat, quiet: bool, out: &mut dyn Write) -> Result<()> {
    let mut rows = Vec::new();
    for id in root.list()? {
        let Ok(dir) = root.open(&id) else { continue };
        let Ok(st) = dir.load() else { continue };
        let status = dir.live_status(&st);
        rows.push((st, status));
    }
    let w = |r: std::io::Result<()>| r.map_err(super::sys("write output"));
    if quiet {
        for (st, _) in &rows {
            w(writeln!(out, "{}", st.id))?;
        }
        return Ok(());
    }
    match format {
        ListFormat::Json => {
            let items: Vec<serde_json::Value> = rows
                .iter()
                .map(|(st, status)| st.oci_json(*status))
                .collect();
            w(writeln!(out, "{}", serde_json::Value::Array(items)))?;
        }
        ListFormat::Table => {
            let header = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from);
            let mut table = vec![header];
            for (st, status) in &rows {
                let pid = if *status == crate::state::Status::Stopped {
                    0
                } else {
                    st.pid
                };
                table.push([
                    st.id.clone(),
                    pid.to_string(),
                    status.to_string(),
                    st.bundle.display().to_string(),
                    st.created.clone(),
                    st.owner.clone(),
                ]);
            }
            let widths: Vec<usize> = (0..6)
                .map(|c| table.iter().map(|r| r[c].len()).max().unwrap_or(0))
                .collect();
            for row in &table {
                let line: Vec<String> = row
                    .iter()
                    .enumerate()
                    .map(|(c, v)| {
                        if c == 5 {
                            v.clone()
                        } else {
                            format!("{v:<w$}", w = widths[c])
                        }
                    })
                    .collect();
                w(writeln!(out, "{}", line.join("   ")))?;
            }
        }
    }
    Ok(())
}
