//! JSON text exactly as Python's `json.dump(obj, f)` writes it with default settings.
//!
//! The network hashes result files byte for byte, and the reference workers write them with
//! Python's defaults: `", "` and `": "` separators, no indentation, `ensure_ascii=True`
//! (every character outside printable ASCII escaped as `\uXXXX`, astral characters as
//! surrogate pairs), keys in insertion order, and floats as Python's `repr`. A Tessera node
//! must produce the same bytes, or its LLM score would not match an honest Python node's.

use serde_json::{Map, Number, Value};
use std::fmt::Write as _;

/// Serializes `value` as Python's `json.dumps(value)` does with default arguments.
///
/// Object keys keep their order (`serde_json` is built with `preserve_order`).
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => write_object(out, map),
    }
}

fn write_object(out: &mut String, map: &Map<String, Value>) {
    out.push('{');
    for (i, (key, item)) in map.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_string(out, key);
        out.push_str(": ");
        write_value(out, item);
    }
    out.push('}');
}

/// Python's `py_encode_basestring_ascii`.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

fn write_number(out: &mut String, n: &Number) {
    if let Some(f) = n.as_f64().filter(|_| n.is_f64()) {
        write_float(out, f);
    } else {
        // Integers (i64 or u64) print as decimal digits in both languages.
        let _ = write!(out, "{n}");
    }
}

/// Python's `float.__repr__`: the shortest digits that round-trip, in fixed notation when
/// the decimal exponent is in `-4..16`, else `d.ddde±XX` with at least two exponent digits.
fn write_float(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("NaN");
        return;
    }
    if f.is_infinite() {
        out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
        return;
    }
    // Rust's `{:e}` gives the shortest round-trip digits, as Python's repr does.
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` always has an exponent");
    let exp: i32 = exp.parse().expect("`{:e}` exponent is an integer");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|&c| c != '.').collect();
    out.push_str(sign);
    if (-4..16).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        if point <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-point) as usize));
            out.push_str(&digits);
        } else if point as usize >= digits.len() {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', point as usize - digits.len()));
            out.push_str(".0");
        } else {
            let (int, frac) = digits.split_at(point as usize);
            let _ = write!(out, "{int}.{frac}");
        }
    } else {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let _ = write!(
            out,
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn separators_and_order() {
        let v = json!({"b": [1, 2, {}], "a": null, "c": true});
        assert_eq!(to_string(&v), r#"{"b": [1, 2, {}], "a": null, "c": true}"#);
    }

    #[test]
    fn strings_are_ascii_escaped() {
        let v = json!("a\"b\\c\nd\te\u{1}f\u{7f}é—😀\u{8}\u{c}\r/");
        assert_eq!(
            to_string(&v),
            r#""a\"b\\c\nd\te\u0001f\u007f\u00e9\u2014\ud83d\ude00\b\f\r/""#
        );
    }

    #[test]
    fn floats_match_python_repr() {
        // Expected strings are Python 3's repr of the same doubles.
        let cases: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (7.5, "7.5"),
            (0.1, "0.1"),
            (1e-4, "0.0001"),
            (1e-5, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (123456789012345.6, "123456789012345.6"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.25e100, "1.25e+100"),
            (-2.5e-300, "-2.5e-300"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for &(f, want) in cases {
            let mut got = String::new();
            write_float(&mut got, f);
            assert_eq!(got, want, "repr({f:?})");
        }
        assert_eq!(to_string(&json!([1, -2, 3.0])), "[1, -2, 3.0]");
        assert_eq!(to_string(&json!(u64::MAX)), "18446744073709551615");
    }
}
