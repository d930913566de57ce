//! IAM action patterns: `*` and `?` wildcards, matched case-insensitively as IAM does.

/// Whether `pattern` (with `*` and `?`) matches the concrete action `text`, ignoring ASCII case.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    glob_match_with(pattern, text, true)
}

/// Whether `pattern` (with `*` and `?`) matches `text`, ignoring ASCII case or not.
pub fn glob_match_with(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let same = |a: u8, b: u8| {
        if ignore_case {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    // Iterative matcher with single-star backtracking: linear in practice, never recursive.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || same(p[pi], t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Whether some action matches both patterns (both may hold wildcards), ignoring ASCII case.
///
/// A pattern is a small automaton; the two intersect when their product accepts a word. Each
/// step advances at least one pattern, so the table below is filled once per position pair.
pub fn glob_intersects(a: &str, b: &str) -> bool {
    // A pattern without wildcards is one word: the other pattern must match it. (The common
    // case, `s3:GetObject` against `s3:*`, needs no table.)
    let wild = |p: &str| p.contains(['*', '?']);
    if !wild(a) {
        return glob_match(b, a);
    }
    if !wild(b) {
        return glob_match(a, b);
    }
    let a = a.as_bytes();
    let b = b.as_bytes();
    // reach[i * width + j]: both patterns can be at positions i and j after reading the same
    // word.
    let width = b.len() + 1;
    let mut reach = vec![false; (a.len() + 1) * width];
    let at = |i: usize, j: usize| i * width + j;
    reach[0] = true;
    // Positions only grow, so visiting pairs in lexicographic order sees every predecessor
    // first — except moves that keep `i` and grow `j` (or the reverse), handled in-row.
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            if !reach[at(i, j)] {
                continue;
            }
            let a_star = i < a.len() && a[i] == b'*';
            let b_star = j < b.len() && b[j] == b'*';
            // A star may match the empty string.
            if a_star {
                reach[at(i + 1, j)] = true;
            }
            if b_star {
                reach[at(i, j + 1)] = true;
            }
            // Read one character that both accept.
            if i < a.len() && j < b.len() {
                let compatible = a_star
                    || b_star
                    || a[i] == b'?'
                    || b[j] == b'?'
                    || a[i].eq_ignore_ascii_case(&b[j]);
                if compatible {
                    let ni = if a_star { i } else { i + 1 };
                    let nj = if b_star { j } else { j + 1 };
                    if (ni, nj) != (i, j) {
                        reach[at(ni, nj)] = true;
                    }
                }
            }
        }
    }
    reach[at(a.len(), b.len())]
}

/// Whether `pattern` matches every action `scope` matches. Exact for a concrete `scope`;
/// for a wildcard `scope` only the shapes `*` and `prefix*` are recognised (anything else is
/// answered "no", which makes a `NotAction` statement count as reaching: the safe side).
pub fn covers(pattern: &str, scope: &str) -> bool {
    if !scope.contains(['*', '?']) {
        return glob_match(pattern, scope);
    }
    if pattern == "*" {
        return true;
    }
    match pattern.strip_suffix('*') {
        Some(prefix) if !prefix.contains(['*', '?']) => {
            scope.len() >= prefix.len()
                && scope.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching() {
        assert!(glob_match("sts:*", "sts:AssumeRole"));
        assert!(glob_match("sts:Assume*", "sts:AssumeRole"));
        assert!(glob_match("STS:assumerole", "sts:AssumeRole"));
        assert!(glob_match("*", "sts:AssumeRole"));
        assert!(glob_match("sts:AssumeRol?", "sts:AssumeRole"));
        assert!(!glob_match("sts:AssumeRoleWithSAML", "sts:AssumeRole"));
        assert!(!glob_match("sts:Assume*SAML", "sts:AssumeRole"));
        assert!(glob_match("s3:*Object*", "s3:GetObjectAcl"));
    }

    #[test]
    fn intersecting() {
        assert!(glob_intersects("s3:Get*", "s3:*"));
        assert!(glob_intersects("*", "kms:*"));
        assert!(glob_intersects("s*:Put*", "s3:*"));
        assert!(!glob_intersects("sqs:*", "s3:*"));
        assert!(glob_intersects("sts:Assume*", "sts:AssumeRole"));
        assert!(!glob_intersects("sts:AssumeRoleWith*", "sts:AssumeRole"));
        assert!(glob_intersects("*Role", "sts:*"));
        assert!(!glob_intersects("ecr:Get", "ecr:Put*"));
        assert!(glob_intersects("S3:getobject", "s3:GetObject"));
        assert!(!glob_intersects("s3:GetObject", "s3:GetObjectAcl"));
        assert!(glob_intersects("s3:GetObjec?", "s3:*"));
        assert!(glob_intersects("s3:Get?bject", "s3:GetObject"));
    }

    #[test]
    fn covering() {
        assert!(covers("*", "s3:*"));
        assert!(covers("s3:*", "s3:*"));
        assert!(!covers("s3:Get*", "s3:*"));
        assert!(!covers("s3:?", "s3:*"));
        assert!(covers("sts:Assume*", "sts:AssumeRole"));
    }
}
