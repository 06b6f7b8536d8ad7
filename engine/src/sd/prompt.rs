//! Compel's prompt-weighting syntax: `word+`, `word--`, `(several words)1.3`, `(words)-`.
//!
//! Each `+` multiplies the weight of the word (or parenthesized group) it follows by 1.1,
//! each `-` by 0.9, and `(...)w` multiplies it by `w`; groups nest. The result is a list of
//! text fragments with their weights, adjacent fragments of equal weight merged, as
//! Compel's `PromptParser` flattens a prompt. Whitespace inside fragments is normalized to
//! single spaces, which CLIP's tokenizer ignores anyway.

/// A run of prompt text with one weight.
#[derive(Clone, Debug, PartialEq)]
pub struct Fragment {
    /// The text.
    pub text: String,
    /// Its weight (1 is neutral).
    pub weight: f64,
}

/// Parses `prompt` into weighted fragments.
pub fn parse(prompt: &str) -> Vec<Fragment> {
    let chars: Vec<char> = prompt.chars().collect();
    let mut pieces = Vec::new();
    parse_span(&chars, 1.0, &mut pieces);
    merge(pieces)
}

/// Parses `chars` at weight `weight`, appending `(word, weight)` pieces.
fn parse_span(chars: &[char], weight: f64, out: &mut Vec<(String, f64)>) {
    let mut i = 0;
    let mut word = String::new();
    while i < chars.len() {
        let c = chars[i];
        if c == '('
            && let Some(close) = matching_paren(chars, i)
        {
            flush_word(&mut word, weight, out);
            let (factor, after) = group_weight(chars, close + 1);
            parse_span(&chars[i + 1..close], weight * factor, out);
            i = after;
            continue;
        }
        if c.is_whitespace() {
            flush_word(&mut word, weight, out);
        } else {
            word.push(c);
        }
        i += 1;
    }
    flush_word(&mut word, weight, out);
}

/// Emits a whitespace-delimited word, applying a `+`/`-` run that follows a word to it.
///
/// A run ends a weighted word when it is followed by the end of the word, by punctuation
/// (`quality++,` weights `quality`) or, being two or more long, by anything (`a++b`); a
/// single sign inside a word (`a+b`, `off-shoulder`) is text.
fn flush_word(word: &mut String, weight: f64, out: &mut Vec<(String, f64)>) {
    let text = std::mem::take(word);
    emit_word(&text, weight, out);
}

fn emit_word(text: &str, weight: f64, out: &mut Vec<(String, f64)>) {
    if text.is_empty() {
        return;
    }
    let chars: Vec<char> = text.chars().collect();
    let is_sign = |c: char| c == '+' || c == '-';
    let is_punctuation = |c: char| matches!(c, ',' | '.' | ';' | ':' | '!' | '?');
    let mut i = 1;
    while i < chars.len() {
        if is_sign(chars[i]) && !is_sign(chars[i - 1]) {
            let sign = chars[i];
            let mut end = i;
            while end < chars.len() && chars[end] == sign {
                end += 1;
            }
            let run = end - i;
            let weighted = end == chars.len()
                || is_punctuation(chars[end])
                || (run >= 2 && !is_sign(chars[end]));
            if weighted {
                let factor = if sign == '+' { 1.1f64 } else { 0.9 };
                let mut w = weight;
                for _ in 0..run {
                    w *= factor;
                }
                let stem: String = chars[..i].iter().collect();
                // Punctuation before the stem's word belongs to the unweighted text.
                out.push((stem, w));
                let rest: String = chars[end..].iter().collect();
                emit_word(&rest, weight, out);
                return;
            }
            i = end;
        } else {
            i += 1;
        }
    }
    out.push((text.to_string(), weight));
}

/// The index of the `)` closing the `(` at `open`, if the parentheses balance.
fn matching_paren(chars: &[char], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, &c) in chars.iter().enumerate().skip(open) {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The weight written right after a group's `)` (a number or a `+`/`-` run) and where the
/// text continues.
fn group_weight(chars: &[char], start: usize) -> (f64, usize) {
    let mut end = start;
    while end < chars.len() && (chars[end].is_ascii_digit() || chars[end] == '.') {
        end += 1;
    }
    if end > start {
        let number: String = chars[start..end].iter().collect();
        if let Ok(value) = number.parse::<f64>() {
            return (value, end);
        }
    }
    let mut end = start;
    let mut factor = 1.0f64;
    while end < chars.len()
        && (chars[end] == '+' || chars[end] == '-')
        && chars[end] == chars[start]
    {
        factor *= if chars[end] == '+' { 1.1 } else { 0.9 };
        end += 1;
    }
    (factor, end)
}

/// Joins adjacent pieces of equal weight with single spaces.
fn merge(pieces: Vec<(String, f64)>) -> Vec<Fragment> {
    let mut fragments: Vec<Fragment> = Vec::new();
    for (text, weight) in pieces {
        match fragments.last_mut() {
            Some(last) if last.weight == weight => {
                last.text.push(' ');
                last.text.push_str(&text);
            }
            _ => fragments.push(Fragment { text, weight }),
        }
    }
    fragments
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(prompt: &str) -> Vec<(String, f64)> {
        parse(prompt)
            .into_iter()
            .map(|f| (f.text, f.weight))
            .collect()
    }

    /// Expectations from compel 2.5.1's `PromptParser` (texts up to whitespace, which
    /// CLIP's tokenizer ignores).
    #[test]
    fn weights_match_compel() {
        let cases: &[(&str, &[(&str, f64)])] = &[
            (
                "oil painting of castle, (river)1.3, forest",
                &[
                    ("oil painting of castle,", 1.0),
                    ("river", 1.3),
                    (",  forest", 1.0),
                ],
            ),
            ("hair+, x", &[("hair", 1.1), (", x", 1.0)]),
            ("a-b-", &[("a-b", 0.9)]),
            ("(a b)++", &[("a b", 1.2100000000000002)]),
            ("((a)1.2 b)0.5", &[("a", 0.6), ("b", 0.5)]),
            ("a (b", &[("a (b", 1.0)]),
            (
                "quality+++++,low",
                &[("quality", 1.6105100000000006), (",low", 1.0)],
            ),
            (
                "red++ hair--, (big)0.8 eyes",
                &[
                    ("red", 1.2100000000000002),
                    ("hair", 0.81),
                    (",", 1.0),
                    ("big", 0.8),
                    ("eyes", 1.0),
                ],
            ),
            ("a (b)1.3 (c)1.3 d", &[("a", 1.0), ("b c", 1.3), ("d", 1.0)]),
            ("x (y)1 z", &[("x y z", 1.0)]),
            ("+a", &[("+a", 1.0)]),
            ("a+b", &[("a+b", 1.0)]),
            ("(a)+ (b)-", &[("a", 1.1), ("b", 0.9)]),
            ("a (b)0 c", &[("a", 1.0), ("b", 0.0), ("c", 1.0)]),
        ];
        for (prompt, expected) in cases {
            let got = flat(prompt);
            let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
            let got: Vec<(String, f64)> = got.into_iter().map(|(t, w)| (squash(&t), w)).collect();
            let want: Vec<(String, f64)> = expected.iter().map(|(t, w)| (squash(t), *w)).collect();
            assert_eq!(got.len(), want.len(), "{prompt}: {got:?}");
            for ((gt, gw), (wt, ww)) in got.iter().zip(&want) {
                assert_eq!(gt.replace(' ', ""), wt.replace(' ', ""), "{prompt}");
                assert!((gw - ww).abs() < 1e-12, "{prompt}: {gw} vs {ww}");
            }
        }
    }
}
