//! How every target cuts its input: a first byte saying where to split, so the same bytes are fed in
//! two pieces at an offset the fuzzer chooses (decoders must give the same result for any split).

#[allow(dead_code)]
/// `(offset, rest)`: the rest is split at `offset % (len + 1)`.
pub fn two(data: &[u8]) -> (&[u8], &[u8]) {
    match data.split_first() {
        None => (&[], &[]),
        Some((&cut, rest)) => rest.split_at(usize::from(cut) % (rest.len() + 1)),
    }
}

#[allow(dead_code)]
/// The input as `\n`-separated fields, lossily as text.
pub fn fields(data: &[u8], n: usize) -> Vec<String> {
    let text = String::from_utf8_lossy(data);
    let mut parts: Vec<String> = text.splitn(n, '\n').map(str::to_owned).collect();
    parts.resize(n, String::new());
    parts
}
