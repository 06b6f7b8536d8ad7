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

/// Parses `prompt` into weighted fragments. Iterative and linear in the prompt's length:
/// a prompt of any nesting depth (30,000 `(`) neither grows the stack nor takes quadratic
/// time.
pub fn parse(prompt: &str) -> Vec<Fragment> {
    let chars: Vec<char> = prompt.chars().collect();
    let closing = matching_parens(&chars);
    let mut out = Vec::new();
    // Groups being parsed: where each ends, where the text resumes after its weight, and
    // the weight outside it.
    let mut groups: Vec<(usize, usize, f64)> = Vec::new();
    let mut weight = 1.0;
    let mut word = String::new();
    let mut i = 0;
    loop {
        if let Some(&(close, after, outer)) = groups.last()
            && i == close
        {
            flush_word(&mut word, weight, &mut out);
            groups.pop();
            weight = outer;
            i = after;
            continue;
        }
        let Some(&c) = chars.get(i) else { break };
        if let Some(close) = closing[i] {
            flush_word(&mut word, weight, &mut out);
            let (factor, after) = group_weight(&chars, close + 1);
            groups.push((close, after, weight));
            weight *= factor;
        } else if c.is_whitespace() {
            flush_word(&mut word, weight, &mut out);
        } else {
            word.push(c);
        }
        i += 1;
    }
    flush_word(&mut word, weight, &mut out);
    merge(out)
}

/// Emits a whitespace-delimited word, applying a `+`/`-` run that follows a word to it.
///
/// A run ends a weighted word when it is followed by the end of the word, by punctuation
/// (`quality++,` weights `quality`) or, being two or more long, by anything (`a++b`); a
/// single sign inside a word (`a+b`, `off-shoulder`) is text.
fn flush_word(word: &mut String, weight: f64, out: &mut Vec<(String, f64)>) {
    let text: Vec<char> = std::mem::take(word).chars().collect();
    let is_sign = |c: char| c == '+' || c == '-';
    let is_punctuation = |c: char| matches!(c, ',' | '.' | ';' | ':' | '!' | '?');
    // Each weighted stem is emitted and the rest of the word scanned again, in a loop.
    let mut rest: &[char] = &text;
    'word: while !rest.is_empty() {
        let mut i = 1;
        while i < rest.len() {
            if is_sign(rest[i]) && !is_sign(rest[i - 1]) {
                let sign = rest[i];
                let mut end = i;
                while end < rest.len() && rest[end] == sign {
                    end += 1;
                }
                let run = end - i;
                let weighted = end == rest.len()
                    || is_punctuation(rest[end])
                    || (run >= 2 && !is_sign(rest[end]));
                if weighted {
                    let factor = if sign == '+' { 1.1f64 } else { 0.9 };
                    let mut w = weight;
                    for _ in 0..run {
                        w *= factor;
                    }
                    // Punctuation before the stem's word belongs to the unweighted text.
                    out.push((rest[..i].iter().collect(), w));
                    rest = &rest[end..];
                    continue 'word;
                }
                i = end;
            } else {
                i += 1;
            }
        }
        out.push((rest.iter().collect(), weight));
        break;
    }
}

/// For each `(`, the index of the `)` closing it when the parentheses balance, in one
/// pass with a stack.
fn matching_parens(chars: &[char]) -> Vec<Option<usize>> {
    let mut closing = vec![None; chars.len()];
    let mut open = Vec::new();
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '(' => open.push(i),
            ')' => {
                if let Some(o) = open.pop() {
                    closing[o] = Some(i);
                }
            }
            _ => {}
        }
    }
    closing
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

    /// The review's attack 7: 30,000 nested parentheses (or a 30,000-run weighted word)
    /// once overflowed the stack, which in wasm corrupts memory silently. Run on a thread
    /// with a 64 KiB stack, so any recursion per `(` would fail here.
    #[test]
    fn deep_nesting_parses_in_constant_stack() {
        let nested = format!("{}cat{}", "(".repeat(30_000), ")".repeat(30_000));
        let unbalanced = "(".repeat(30_000);
        let signs = "a++".repeat(10_000);
        let run = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || (parse(&nested), parse(&unbalanced), parse(&signs)))
            .unwrap()
            .join()
            .expect("no stack overflow");
        assert_eq!(
            run.0,
            vec![Fragment {
                text: "cat".into(),
                weight: 1.0
            }]
        );
        assert_eq!(run.1.len(), 1, "unbalanced parentheses are text");
        assert_eq!(run.1[0].text.len(), 30_000);
        assert_eq!(run.2.len(), 1, "10,000 equal weights merge");
        assert!((run.2[0].weight - 1.21).abs() < 1e-12);
    }
}
