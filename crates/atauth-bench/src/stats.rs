//! Pure helpers: percentiles, rates, and the plain-text table.

use std::time::Duration;

/// The `p`-th percentile (0..=100) of sorted samples, nearest-rank method; `None` when empty.
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let p = p.clamp(0.0, 100.0);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.saturating_sub(1).min(sorted.len() - 1)])
}

/// Milliseconds with three decimals, as a float (for JSON and the table).
pub fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// One line of the report.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub section: String,
    pub name: String,
    /// The headline number.
    pub value: f64,
    pub unit: String,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// `value` divided by the crypto floor for the same work on the whole machine.
    pub of_floor: Option<f64>,
    /// The crypto floor's share of the server CPU time per request (floor µs / server CPU µs).
    pub cpu_of_floor: Option<f64>,
    pub note: String,
    /// Which floor `of_floor` compares with (see `crypto::Floor::get`), and on how many cores.
    pub floor_kind: Option<&'static str>,
    pub floor_cores: f64,
    /// Server CPU µs per operation, for `cpu_of_floor`.
    pub server_us: Option<f64>,
}

impl Row {
    pub fn new(section: &str, name: &str, value: f64, unit: &str) -> Self {
        Self {
            section: section.into(),
            name: name.into(),
            value,
            unit: unit.into(),
            ..Self::default()
        }
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }

    /// Compares with `floor` (operations per second per core) on `cores` cores.
    pub fn against(mut self, kind: &'static str, cores: f64) -> Self {
        self.floor_kind = Some(kind);
        self.floor_cores = cores;
        self
    }

    /// Fills `of_floor` and `cpu_of_floor` from the floor (per core) for this row's kind.
    pub fn apply_floor(&mut self, floor_per_core: f64) {
        self.of_floor = Some(self.value / (floor_per_core * self.floor_cores));
        self.cpu_of_floor = self.server_us.map(|us| (1e6 / floor_per_core) / us);
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "section": self.section,
            "name": self.name,
            "value": round_sig(self.value),
            "unit": self.unit,
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "of_floor": self.of_floor.map(|f| (f * 1000.0).round() / 1000.0),
            "cpu_of_floor": self.cpu_of_floor.map(|f| (f * 1000.0).round() / 1000.0),
            "note": self.note,
            "floor": self.floor_kind,
            "server_cpu_us_per_op": self.server_us.map(round_sig),
        })
    }
}

/// Rounds to a precision that suits the magnitude (integers above 100, else 3 significant).
pub fn round_sig(v: f64) -> f64 {
    if !v.is_finite() || v == 0.0 {
        return v;
    }
    if v.abs() >= 100.0 {
        v.round()
    } else {
        let digits = 2 - v.abs().log10().floor() as i32;
        let factor = 10f64.powi(digits);
        (v * factor).round() / factor
    }
}

/// A number for the table: thousands separated by commas above 1,000; 3 significant digits
/// below 100.
pub fn human(v: f64) -> String {
    let v = round_sig(v);
    if v.abs() >= 1000.0 {
        let s = format!("{:.0}", v.abs());
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        if v < 0.0 {
            format!("-{out}")
        } else {
            out
        }
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

fn pct(f: Option<f64>) -> String {
    f.map(|f| format!("{:.0}%", f * 100.0)).unwrap_or_default()
}

fn opt_ms(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.2}")).unwrap_or_default()
}

/// The rows as a Markdown table (also readable as plain text).
pub fn table(rows: &[Row]) -> String {
    let header = [
        "Section",
        "Measurement",
        "Result",
        "p50 ms",
        "p99 ms",
        "of floor",
        "floor/CPU",
        "Note",
    ];
    let cells: Vec<[String; 8]> = rows
        .iter()
        .map(|r| {
            [
                r.section.clone(),
                r.name.clone(),
                format!("{} {}", human(r.value), r.unit),
                opt_ms(r.p50_ms),
                opt_ms(r.p99_ms),
                pct(r.of_floor),
                pct(r.cpu_of_floor),
                r.note.clone(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: &[String]| {
        let mut s = String::from("|");
        for (c, w) in cols.iter().zip(widths) {
            s.push(' ');
            s.push_str(c);
            s.push_str(&" ".repeat(w - c.chars().count()));
            s.push_str(" |");
        }
        s.push('\n');
        s
    };
    let mut out = line(&header.map(String::from));
    out.push_str(&line(&widths.map(|w| "-".repeat(w))));
    for row in &cells {
        out.push_str(&line(row));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(d).collect();
        assert_eq!(percentile(&samples, 50.0), Some(d(50)));
        assert_eq!(percentile(&samples, 99.0), Some(d(99)));
        assert_eq!(percentile(&samples, 100.0), Some(d(100)));
        assert_eq!(percentile(&samples, 0.0), Some(d(1)));
        assert_eq!(percentile(&[d(7)], 99.0), Some(d(7)));
        let three = [d(1), d(2), d(3)];
        assert_eq!(percentile(&three, 50.0), Some(d(2)));
        assert_eq!(percentile(&three, 99.0), Some(d(3)));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn numbers_are_rounded_for_people() {
        assert_eq!(human(54765.4), "54,765");
        assert_eq!(human(1_234_567.0), "1,234,567");
        assert_eq!(human(999.6), "1,000");
        assert_eq!(human(16.43), "16.4");
        assert_eq!(human(0.01234), "0.0123");
        assert_eq!(human(120.0), "120");
        assert_eq!(round_sig(0.0), 0.0);
    }

    #[test]
    fn table_columns_line_up() {
        let mut row = Row::new("token", "code exchange", 1234.0, "req/s").note("c=16");
        row.p50_ms = Some(3.0);
        row.of_floor = Some(0.25);
        let text = table(&[row, Row::new("floor", "sign", 50_000.0, "/s")]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        let width = lines[0].chars().count();
        assert!(lines.iter().all(|l| l.chars().count() == width), "{text}");
        assert!(lines[2].contains("1,234 req/s") && lines[2].contains("25%"));
        assert!(lines[1].starts_with("| ---"));
    }
}
