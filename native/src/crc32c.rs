//! CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of record batch v2.
//! x86_64 with SSE4.2 uses the crc32 instruction on three interleaved streams (the
//! instruction has a latency of 3 cycles and a throughput of 1, so three independent
//! streams keep it busy); elsewhere a slicing-by-8 table.

const POLY: u32 = 0x82F6_3B78;

const fn make_slicing_tables() -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut i = 0;
    while i < 256 {
        let mut j = 1;
        while j < 8 {
            let prev = t[j - 1][i];
            t[j][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            j += 1;
        }
        i += 1;
    }
    t
}

static SLICING: [[u32; 256]; 8] = make_slicing_tables();

/// CRC-32C of `data` continuing from `crc` (0 to start), table implementation.
pub fn crc32c_table(crc: u32, data: &[u8]) -> u32 {
    let t = &SLICING;
    let mut c = !crc;
    let mut chunks = data.chunks_exact(8);
    for ch in &mut chunks {
        let lo = u32::from_le_bytes([ch[0], ch[1], ch[2], ch[3]]) ^ c;
        let hi = u32::from_le_bytes([ch[4], ch[5], ch[6], ch[7]]);
        c = t[7][(lo & 0xff) as usize]
            ^ t[6][((lo >> 8) & 0xff) as usize]
            ^ t[5][((lo >> 16) & 0xff) as usize]
            ^ t[4][(lo >> 24) as usize]
            ^ t[3][(hi & 0xff) as usize]
            ^ t[2][((hi >> 8) & 0xff) as usize]
            ^ t[1][((hi >> 16) & 0xff) as usize]
            ^ t[0][(hi >> 24) as usize];
    }
    for &b in chunks.remainder() {
        c = (c >> 8) ^ t[0][((c ^ b as u32) & 0xff) as usize];
    }
    !c
}

/// CRC-32C, hardware when the CPU has it.
#[inline]
pub fn crc32c(crc: u32, data: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("sse4.2") {
            // SAFETY: the feature was detected at run time.
            return unsafe { hw::crc32c_sse42(crc, data) };
        }
    }
    crc32c_table(crc, data)
}

/// Whether the hardware path is in use (for benchmarks and tests).
pub fn hardware_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("sse4.2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// a * b modulo the polynomial, in the reflected bit order (x^0 is bit 31).
const fn mult_mod_poly(a: u32, mut b: u32) -> u32 {
    let mut m: u32 = 1 << 31;
    let mut p: u32 = 0;
    loop {
        if a & m != 0 {
            p ^= b;
            if a & (m - 1) == 0 {
                break;
            }
        }
        m >>= 1;
        b = if b & 1 != 0 { (b >> 1) ^ POLY } else { b >> 1 };
    }
    p
}

/// x^(8 * n_bytes) modulo the polynomial: the operator that appends n_bytes zero bytes.
const fn x_pow_8n(n_bytes: usize) -> u32 {
    let mut result: u32 = 1 << 31; // x^0
    let mut base: u32 = 1 << 30; // x^1
    let mut e = n_bytes * 8;
    while e > 0 {
        if e & 1 != 0 {
            result = mult_mod_poly(base, result);
        }
        base = mult_mod_poly(base, base);
        e >>= 1;
    }
    result
}

/// Byte-wise tables of the linear map crc -> crc * x^(8 n_bytes), so that shifting a CRC
/// state past n_bytes zero bytes costs four lookups.
const fn make_shift_tables(n_bytes: usize) -> [[u32; 256]; 4] {
    let op = x_pow_8n(n_bytes);
    let mut t = [[0u32; 256]; 4];
    let mut k = 0;
    while k < 4 {
        let mut i = 0;
        while i < 256 {
            t[k][i] = mult_mod_poly(op, (i as u32) << (8 * k));
            i += 1;
        }
        k += 1;
    }
    t
}

#[cfg(target_arch = "x86_64")]
mod hw {
    use std::arch::x86_64::{_mm_crc32_u64, _mm_crc32_u8};

    const LONG_BYTES: usize = 8192;
    const SHORT_BYTES: usize = 256;
    static LONG_SHIFT: [[u32; 256]; 4] = super::make_shift_tables(LONG_BYTES);
    static SHORT_SHIFT: [[u32; 256]; 4] = super::make_shift_tables(SHORT_BYTES);

    #[inline(always)]
    fn shift(t: &[[u32; 256]; 4], crc: u32) -> u32 {
        t[0][(crc & 0xff) as usize]
            ^ t[1][((crc >> 8) & 0xff) as usize]
            ^ t[2][((crc >> 16) & 0xff) as usize]
            ^ t[3][(crc >> 24) as usize]
    }

    /// Three streams of `block` bytes each at p, p+block, p+2*block, combined into c0.
    #[inline(always)]
    unsafe fn three_streams(mut c0: u64, p: *const u8, block: usize, t: &[[u32; 256]; 4]) -> u64 {
        let mut c1: u64 = 0;
        let mut c2: u64 = 0;
        let mut i = 0;
        while i < block {
            c0 = _mm_crc32_u64(c0, (p.add(i) as *const u64).read_unaligned());
            c1 = _mm_crc32_u64(c1, (p.add(block + i) as *const u64).read_unaligned());
            c2 = _mm_crc32_u64(c2, (p.add(2 * block + i) as *const u64).read_unaligned());
            i += 8;
        }
        // The state after A|B is shift(state(A), |B|) ^ state_from_zero(B): CRC is linear.
        let c = shift(t, c0 as u32) ^ c1 as u32;
        (shift(t, c) ^ c2 as u32) as u64
    }

    #[target_feature(enable = "sse4.2")]
    pub unsafe fn crc32c_sse42(crc: u32, data: &[u8]) -> u32 {
        let mut c: u64 = (!crc) as u64;
        let mut p = data.as_ptr();
        let mut len = data.len();
        while len > 0 && (p as usize) & 7 != 0 {
            c = _mm_crc32_u8(c as u32, *p) as u64;
            p = p.add(1);
            len -= 1;
        }
        while len >= 3 * LONG_BYTES {
            c = three_streams(c, p, LONG_BYTES, &LONG_SHIFT);
            p = p.add(3 * LONG_BYTES);
            len -= 3 * LONG_BYTES;
        }
        while len >= 3 * SHORT_BYTES {
            c = three_streams(c, p, SHORT_BYTES, &SHORT_SHIFT);
            p = p.add(3 * SHORT_BYTES);
            len -= 3 * SHORT_BYTES;
        }
        while len >= 8 {
            c = _mm_crc32_u64(c, (p as *const u64).read_unaligned());
            p = p.add(8);
            len -= 8;
        }
        while len > 0 {
            c = _mm_crc32_u8(c as u32, *p) as u64;
            p = p.add(1);
            len -= 1;
        }
        !(c as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn known_vectors() {
        for f in [crc32c_table as fn(u32, &[u8]) -> u32, crc32c] {
            assert_eq!(f(0, b""), 0);
            assert_eq!(f(0, b"123456789"), 0xE306_9283);
            assert_eq!(f(0, &[0u8; 32]), 0x8A91_36AA);
            assert_eq!(f(0, &[0xffu8; 32]), 0x62A8_AB43);
            let ascending: Vec<u8> = (0u8..32).collect();
            assert_eq!(f(0, &ascending), 0x46DD_794E);
            let descending: Vec<u8> = (0u8..32).rev().collect();
            assert_eq!(f(0, &descending), 0x113F_DB5C);
            assert_eq!(f(0, b"a"), 0xC1D0_4330);
        }
    }

    #[test]
    fn incremental_equals_one_shot() {
        let data = pseudo_random(100_000, 7);
        let whole = crc32c(0, &data);
        for split in [0usize, 1, 7, 8, 255, 4096, 50_000, 99_999, 100_000] {
            let c = crc32c(crc32c(0, &data[..split]), &data[split..]);
            assert_eq!(c, whole, "split at {split}");
        }
    }

    #[test]
    fn hardware_matches_table_on_random_data() {
        for (i, len) in [0usize, 1, 3, 7, 8, 9, 63, 64, 767, 768, 769, 4096, 24_575, 24_576, 24_583, 100_003, 1 << 20]
            .into_iter()
            .enumerate()
        {
            let data = pseudo_random(len + 8, i as u64 + 11);
            // every start alignment
            for start in 0..8 {
                let s = &data[start..start + len];
                assert_eq!(crc32c(0x1234_5678, s), crc32c_table(0x1234_5678, s), "len {len} start {start}");
            }
        }
    }
}
