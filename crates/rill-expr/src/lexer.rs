//! Lexer: source text → tokens with their column, so every compile error can point at a place.

use std::fmt;

/// A lexical token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// Integer literal, kept unsigned so `-9223372036854775808` can be negated by the parser.
    Int(u64),
    Float(f64),
    Str(String),
    /// An identifier; `quoted` for backtick names, which are never keywords.
    Ident {
        name: String,
        quoted: bool,
    },
    True,
    False,
    Null,
    In,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Dot,
    Colon,
    Question,
    Not,
    And,
    Or,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    Star,
    Slash,
    SlashSlash,
    Percent,
    Eof,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Tok::Int(i) => return write!(f, "number {i}"),
            Tok::Float(x) => return write!(f, "number {x}"),
            Tok::Str(s) => return write!(f, "string '{}'", crate::value_fmt::clip(s)),
            Tok::Ident { name, .. } => return write!(f, "name '{name}'"),
            Tok::True => "'true'",
            Tok::False => "'false'",
            Tok::Null => "'null'",
            Tok::In => "'in'",
            Tok::LParen => "'('",
            Tok::RParen => "')'",
            Tok::LBracket => "'['",
            Tok::RBracket => "']'",
            Tok::LBrace => "'{'",
            Tok::RBrace => "'}'",
            Tok::Comma => "','",
            Tok::Dot => "'.'",
            Tok::Colon => "':'",
            Tok::Question => "'?'",
            Tok::Not => "'!'",
            Tok::And => "'&&'",
            Tok::Or => "'||'",
            Tok::Eq => "'=='",
            Tok::Ne => "'!='",
            Tok::Lt => "'<'",
            Tok::Le => "'<='",
            Tok::Gt => "'>'",
            Tok::Ge => "'>='",
            Tok::Plus => "'+'",
            Tok::Minus => "'-'",
            Tok::Star => "'*'",
            Tok::Slash => "'/'",
            Tok::SlashSlash => "'//'",
            Tok::Percent => "'%'",
            Tok::Eof => "end of input",
        };
        f.write_str(s)
    }
}

/// A token and the 1-based column (in characters) where it starts.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    pub col: u32,
}

/// A compile error: column and message (the caller adds the expression text).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SyntaxError {
    pub col: u32,
    pub msg: String,
}

impl SyntaxError {
    pub fn new(col: u32, msg: impl Into<String>) -> Self {
        SyntaxError {
            col,
            msg: msg.into(),
        }
    }
}

/// Splits `src` into tokens; the last one is always [`Tok::Eof`].
pub(crate) fn lex(src: &str) -> Result<Vec<Token>, SyntaxError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = (i + 1) as u32;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let peek = chars.get(i + 1).copied();
        let (tok, len) = match c {
            '0'..='9' => lex_number(&chars, i)?,
            '\'' | '"' => lex_string(&chars, i, false)?,
            'r' | 'R' if matches!(peek, Some('\'' | '"')) => {
                let (t, n) = lex_string(&chars, i + 1, true)?;
                (t, n + 1)
            }
            '`' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&c| c == '`')
                    .ok_or_else(|| SyntaxError::new(col, "unterminated `quoted name`"))?;
                let name: String = chars[i + 1..i + 1 + end].iter().collect();
                if name.is_empty() {
                    return Err(SyntaxError::new(col, "empty `quoted name`"));
                }
                (Tok::Ident { name, quoted: true }, end + 2)
            }
            c if c == '_' || c.is_alphabetic() => {
                let n = chars[i..]
                    .iter()
                    .take_while(|c| **c == '_' || c.is_alphanumeric())
                    .count();
                let word: String = chars[i..i + n].iter().collect();
                let tok = match word.as_str() {
                    "true" => Tok::True,
                    "false" => Tok::False,
                    "null" => Tok::Null,
                    "in" => Tok::In,
                    _ => Tok::Ident {
                        name: word,
                        quoted: false,
                    },
                };
                (tok, n)
            }
            _ => lex_punct(c, peek, col)?,
        };
        out.push(Token { tok, col });
        i += len;
    }
    out.push(Token {
        tok: Tok::Eof,
        col: (chars.len() + 1) as u32,
    });
    Ok(out)
}

fn lex_punct(c: char, peek: Option<char>, col: u32) -> Result<(Tok, usize), SyntaxError> {
    let two = |t: Tok| Ok((t, 2));
    let one = |t: Tok| Ok((t, 1));
    match (c, peek) {
        ('&', Some('&')) => two(Tok::And),
        ('|', Some('|')) => two(Tok::Or),
        ('=', Some('=')) => two(Tok::Eq),
        ('!', Some('=')) => two(Tok::Ne),
        ('<', Some('=')) => two(Tok::Le),
        ('>', Some('=')) => two(Tok::Ge),
        ('/', Some('/')) => two(Tok::SlashSlash),
        ('&', _) => Err(SyntaxError::new(
            col,
            "unexpected '&' (use '&&' for logical and)",
        )),
        ('|', _) => Err(SyntaxError::new(
            col,
            "unexpected '|' (use '||' for logical or)",
        )),
        ('=', _) => Err(SyntaxError::new(
            col,
            "unexpected '=' (use '==' to compare)",
        )),
        ('(', _) => one(Tok::LParen),
        (')', _) => one(Tok::RParen),
        ('[', _) => one(Tok::LBracket),
        (']', _) => one(Tok::RBracket),
        ('{', _) => one(Tok::LBrace),
        ('}', _) => one(Tok::RBrace),
        (',', _) => one(Tok::Comma),
        ('.', _) => one(Tok::Dot),
        (':', _) => one(Tok::Colon),
        ('?', _) => one(Tok::Question),
        ('!', _) => one(Tok::Not),
        ('<', _) => one(Tok::Lt),
        ('>', _) => one(Tok::Gt),
        ('+', _) => one(Tok::Plus),
        ('-', _) => one(Tok::Minus),
        ('*', _) => one(Tok::Star),
        ('/', _) => one(Tok::Slash),
        ('%', _) => one(Tok::Percent),
        (c, _) => Err(SyntaxError::new(col, format!("unexpected character '{c}'"))),
    }
}

fn lex_number(chars: &[char], start: usize) -> Result<(Tok, usize), SyntaxError> {
    let col = (start + 1) as u32;
    let at = |j: usize| chars.get(j).copied().unwrap_or('\0');
    if at(start) == '0' && matches!(at(start + 1), 'x' | 'X') {
        let n = chars[start + 2..]
            .iter()
            .take_while(|c| c.is_ascii_hexdigit())
            .count();
        let text: String = chars[start + 2..start + 2 + n].iter().collect();
        let v = u64::from_str_radix(&text, 16)
            .map_err(|_| SyntaxError::new(col, "invalid hexadecimal number"))?;
        return Ok((Tok::Int(v), n + 2));
    }
    let mut j = start;
    while at(j).is_ascii_digit() {
        j += 1;
    }
    let mut is_float = false;
    // `1.5` is a float; `1.foo` stays an int followed by a member access.
    if at(j) == '.' && at(j + 1).is_ascii_digit() {
        is_float = true;
        j += 1;
        while at(j).is_ascii_digit() {
            j += 1;
        }
    }
    if matches!(at(j), 'e' | 'E') {
        let mut k = j + 1;
        if matches!(at(k), '+' | '-') {
            k += 1;
        }
        if at(k).is_ascii_digit() {
            is_float = true;
            j = k;
            while at(j).is_ascii_digit() {
                j += 1;
            }
        }
    }
    if at(j) == '_' || at(j).is_alphabetic() {
        return Err(SyntaxError::new(
            (j + 1) as u32,
            format!("unexpected '{}' after a number", at(j)),
        ));
    }
    let text: String = chars[start..j].iter().collect();
    let tok = if is_float {
        Tok::Float(
            text.parse()
                .map_err(|_| SyntaxError::new(col, format!("invalid number '{text}'")))?,
        )
    } else {
        Tok::Int(
            text.parse()
                .map_err(|_| SyntaxError::new(col, format!("integer {text} is too large")))?,
        )
    };
    Ok((tok, j - start))
}

/// Lexes a quoted string starting at the quote; returns the token and its length in chars.
fn lex_string(chars: &[char], start: usize, raw: bool) -> Result<(Tok, usize), SyntaxError> {
    let quote = chars[start];
    let col = (start + 1) as u32;
    let mut s = String::new();
    let mut j = start + 1;
    loop {
        let Some(&c) = chars.get(j) else {
            return Err(SyntaxError::new(col, "unterminated string"));
        };
        j += 1;
        if c == quote {
            return Ok((Tok::Str(s), j - start));
        }
        if c != '\\' || raw {
            s.push(c);
            continue;
        }
        let ecol = j as u32;
        let Some(&e) = chars.get(j) else {
            return Err(SyntaxError::new(col, "unterminated string"));
        };
        j += 1;
        let simple = match e {
            'n' => Some('\n'),
            't' => Some('\t'),
            'r' => Some('\r'),
            '0' => Some('\0'),
            'a' => Some('\x07'),
            'b' => Some('\x08'),
            'f' => Some('\x0c'),
            'v' => Some('\x0b'),
            '\\' | '\'' | '"' | '`' | '?' => Some(e),
            _ => None,
        };
        if let Some(c) = simple {
            s.push(c);
            continue;
        }
        let digits = match e {
            'x' => 2,
            'u' => 4,
            'U' => 8,
            _ => return Err(SyntaxError::new(ecol, format!("unknown escape '\\{e}'"))),
        };
        let hex: String = chars
            .get(j..j + digits)
            .map(|h| h.iter().collect())
            .unwrap_or_default();
        let code = (hex.len() == digits && hex.chars().all(|c| c.is_ascii_hexdigit()))
            .then(|| u32::from_str_radix(&hex, 16).ok())
            .flatten()
            .ok_or_else(|| {
                SyntaxError::new(ecol, format!("'\\{e}' needs {digits} hexadecimal digits"))
            })?;
        let c = char::from_u32(code).ok_or_else(|| {
            SyntaxError::new(ecol, format!("'\\{e}{hex}' is not a valid character"))
        })?;
        s.push(c);
        j += digits;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s).expect("lexes").into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn numbers_strings_and_operators() {
        assert_eq!(
            toks("1 2.5 1e3 0x1F 'a\\n' \"b\\u00e9\" r'\\d'"),
            vec![
                Tok::Int(1),
                Tok::Float(2.5),
                Tok::Float(1000.0),
                Tok::Int(31),
                Tok::Str("a\n".into()),
                Tok::Str("bé".into()),
                Tok::Str("\\d".into()),
                Tok::Eof
            ]
        );
        assert_eq!(
            toks("a<=b//c&&!d"),
            vec![
                Tok::Ident {
                    name: "a".into(),
                    quoted: false
                },
                Tok::Le,
                Tok::Ident {
                    name: "b".into(),
                    quoted: false
                },
                Tok::SlashSlash,
                Tok::Ident {
                    name: "c".into(),
                    quoted: false
                },
                Tok::And,
                Tok::Not,
                Tok::Ident {
                    name: "d".into(),
                    quoted: false
                },
                Tok::Eof
            ]
        );
        assert_eq!(
            toks("`in put`")[0],
            Tok::Ident {
                name: "in put".into(),
                quoted: true
            }
        );
        assert_eq!(toks("1.size()")[..2], [Tok::Int(1), Tok::Dot]);
    }

    #[test]
    fn errors_have_columns() {
        assert_eq!(
            lex("a = 1").unwrap_err(),
            SyntaxError::new(3, "unexpected '=' (use '==' to compare)")
        );
        assert_eq!(lex("x + 'abc").unwrap_err().col, 5);
        assert_eq!(lex("'\\q'").unwrap_err().msg, "unknown escape '\\q'");
        assert_eq!(
            lex("99999999999999999999").unwrap_err().msg,
            "integer 99999999999999999999 is too large"
        );
        assert_eq!(lex("12abc").unwrap_err().col, 3);
        assert_eq!(
            lex("'\\u12'").unwrap_err().msg,
            "'\\u' needs 4 hexadecimal digits"
        );
        assert_eq!(
            lex("'\\uD800'").unwrap_err().msg,
            "'\\uD800' is not a valid character"
        );
    }
}
