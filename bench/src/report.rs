//! The report: one figure at a time (median, spread, ratio to reaper, paired wins), then a
//! markdown table of every median for doc/performance.md and the README.

use ndarray::Array1;
use ndarray_stats::Quantile1dExt;
use ndarray_stats::interpolate::Linear;
use noisy_float::types::N64;

/// Percentile `p` (0 to 100) with linear interpolation between closest ranks (NumPy's
/// default, R's type 7); NaN when empty. The series keeps its order, which pairs it with
/// the other inits' (same round).
pub fn pct(s: &[f64], p: f64) -> f64 {
    let values: Option<Array1<N64>> = s.iter().map(|&x| N64::try_new(x)).collect();
    let (Some(mut values), Some(q)) = (values, N64::try_new(p / 100.0)) else {
        return f64::NAN;
    };
    values
        .quantile_mut(q, &Linear)
        .map_or(f64::NAN, |v| v.raw())
}

pub fn med(s: &[f64]) -> f64 {
    pct(s, 50.0)
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
}

impl Better {
    fn word(self) -> &'static str {
        match self {
            Better::Lower => "lower",
            Better::Higher => "higher",
        }
    }
}

/// A number as the tables show it: whole from 1000 up, then one, two, three significant
/// digits (C's `%.3g`); "n/a" for none.
pub fn num(x: f64) -> String {
    if x.is_nan() {
        "n/a".into()
    } else if x.abs() >= 1000.0 {
        format!("{x:.0}")
    } else if x.abs() >= 100.0 {
        format!("{x:.1}")
    } else if x.abs() >= 10.0 {
        format!("{x:.2}")
    } else {
        three_digits(x)
    }
}

/// C's `%.3g`: three significant digits, trailing zeros dropped, an exponent below 1e-4.
fn three_digits(x: f64) -> String {
    let strip = |s: String| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if x == 0.0 {
        return "0".into();
    }
    let sci = format!("{x:.2e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..3).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", strip(mantissa.to_string()), exp.abs())
    } else {
        strip(format!("{x:.*}", (2 - exp) as usize))
    }
}

/// One row of the summary table.
struct Row {
    label: String,
    unit: &'static str,
    better: Better,
    medians: Vec<f64>,
}

/// The figures printed so far, for the summary; the inits' names, reaper's place.
pub struct Report {
    names: Vec<String>,
    reaper: Option<usize>,
    rows: Vec<Row>,
}

/// How one figure is shown: its unit and scale, the value subtracted from each sample
/// (before scaling), the spread's percentiles and whether a p99 column is shown.
pub struct Shape {
    pub unit: &'static str,
    pub better: Better,
    pub scale: f64,
    pub offset: f64,
    pub lo: f64,
    pub hi: f64,
    pub p99: bool,
}

impl Shape {
    /// Lower is better, p10 - p90, no offset.
    pub fn lower(unit: &'static str, scale: f64) -> Shape {
        Shape {
            unit,
            better: Better::Lower,
            scale,
            offset: 0.0,
            lo: 10.0,
            hi: 90.0,
            p99: false,
        }
    }
}

impl Report {
    pub fn new(names: Vec<String>, reaper: Option<usize>) -> Report {
        Report {
            names,
            reaper,
            rows: Vec::new(),
        }
    }

    /// One figure: a line per init with median, spread and ratio to reaper, and how often
    /// reaper's value of the same round was better. `series` is in the inits' order.
    pub fn figure(&mut self, label: &str, shape: Shape, series: &[&[f64]]) {
        let Shape {
            unit,
            better,
            scale,
            offset,
            lo,
            hi,
            p99: with_p99,
        } = shape;
        println!("\n  {label} [{unit}; {} is better]", better.word());
        println!(
            "    {:<12} {:>10}  {:<24} {:>10} {:>8}  {:<14} reaper better",
            "init",
            "median",
            if with_p99 { "p10 - p90" } else { "spread" },
            if with_p99 { "p99" } else { "" },
            "n",
            "peer / reaper",
        );
        let at = |s: &[f64], p: f64| (pct(s, p) - offset) * scale;
        let reference = self.reaper.map(|r| series[r]);
        let ref_median = reference.map_or(f64::NAN, |s| at(s, 50.0));
        let mut medians = Vec::new();
        let mut p99s = Vec::new();
        for (j, s) in series.iter().enumerate() {
            let (m, p99) = (at(s, 50.0), at(s, 99.0));
            medians.push(m);
            p99s.push(p99);
            let spread = if s.len() > 1 {
                format!("{} - {}", num(at(s, lo)), num(at(s, hi)))
            } else {
                "-".into()
            };
            let is_reaper = Some(j) == self.reaper;
            let ratio = if is_reaper {
                "1".into()
            } else if ref_median.is_nan() || m.is_nan() {
                String::new()
            } else if ref_median == 0.0 {
                if m == 0.0 { "1" } else { "inf" }.into()
            } else {
                format!("{:.2}", m / ref_median)
            };
            // Paired with reaper's value of the same round: how often reaper did better.
            let wins = match reference {
                Some(rs) if !is_reaper && rs.len() == s.len() && s.len() > 1 => {
                    let ties = rs.iter().zip(s.iter()).filter(|(a, c)| a == c).count();
                    let won = rs
                        .iter()
                        .zip(s.iter())
                        .filter(|&(a, c)| match better {
                            Better::Lower => a < c,
                            Better::Higher => a > c,
                        })
                        .count();
                    format!("{won}/{}{}", s.len(), if ties > 0 { " (ties)" } else { "" })
                }
                _ => String::new(),
            };
            println!(
                "    {:<12} {:>10}  {:<24} {:>10} {:>8}  {:<14} {}",
                self.names[j],
                num(m),
                spread,
                if with_p99 { num(p99) } else { String::new() },
                s.len(),
                ratio,
                wins
            );
        }
        self.rows.push(Row {
            label: label.into(),
            unit,
            better,
            medians,
        });
        if with_p99 {
            self.rows.push(Row {
                label: format!("{label}, p99"),
                unit,
                better,
                medians: p99s,
            });
        }
    }

    /// A markdown table of the medians, for doc/performance.md and the README; the binary's
    /// size and whether it is static come first.
    pub fn summary(&self, sizes: &[u64], statics: &[Option<bool>]) {
        let cells = |f: &dyn Fn(usize) -> String| -> String {
            (0..self.names.len())
                .map(|j| format!(" {} |", f(j)))
                .collect()
        };
        println!("\nSummary: medians (p99 where it says so); in brackets, peer / reaper\n");
        println!("| figure | better |{}", cells(&|j| self.names[j].clone()));
        println!("|---|---|{}", "---:|".repeat(self.names.len()));
        println!(
            "| binary size, bytes | lower |{}",
            cells(&|j| match self.reaper {
                Some(r) if r != j =>
                    format!("{} [{:.2}]", sizes[j], sizes[j] as f64 / sizes[r] as f64),
                _ => sizes[j].to_string(),
            })
        );
        println!("| static | |{}", cells(&|j| yes_no(statics[j]).into()));
        for row in &self.rows {
            if row.medians.iter().all(|m| m.is_nan()) {
                continue;
            }
            let reference = self.reaper.map_or(f64::NAN, |r| row.medians[r]);
            let line = cells(&|j| {
                let m = row.medians[j];
                if Some(j) != self.reaper && !reference.is_nan() && reference != 0.0 && !m.is_nan()
                {
                    format!("{} [{:.2}]", num(m), m / reference)
                } else {
                    num(m)
                }
            });
            println!(
                "| {}, {} | {} |{line}",
                row.label,
                row.unit,
                row.better.word()
            );
        }
    }
}

pub fn yes_no(is_static: Option<bool>) -> &'static str {
    match is_static {
        Some(true) => "yes",
        Some(false) => "no",
        None => "?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_between_closest_ranks() {
        let s = [4.0, 1.0, 3.0, 2.0, 10.0];
        assert_eq!(pct(&s, 50.0), 3.0);
        assert_eq!(pct(&s, 0.0), 1.0);
        assert_eq!(pct(&s, 100.0), 10.0);
        // Rank 0.1 * 4 = 0.4: between 1 and 2.
        assert!((pct(&s, 10.0) - 1.4).abs() < 1e-12);
        // Rank 0.99 * 4 = 3.96: between 4 and 10.
        assert!((pct(&s, 99.0) - 9.76).abs() < 1e-12);
        assert!((pct(&[1.0, 2.0], 10.0) - 1.1).abs() < 1e-12);
        assert!(pct(&[], 50.0).is_nan());
        // The series keeps its order.
        assert_eq!(s, [4.0, 1.0, 3.0, 2.0, 10.0]);
    }

    #[test]
    fn numbers_print_as_c_printf_did() {
        for (x, shown) in [
            (f64::NAN, "n/a"),
            (247442.4, "247442"),
            (1000.0, "1000"),
            (177.74, "177.7"),
            (41.06, "41.06"),
            (4.1, "4.1"),
            (4.0, "4"),
            (9.996, "10"),
            (0.0, "0"),
            (0.01234, "0.0123"),
            (-3.456, "-3.46"),
            (0.00001234, "1.23e-05"),
            (3.78, "3.78"),
        ] {
            assert_eq!(num(x), shown, "{x}");
        }
    }
}
