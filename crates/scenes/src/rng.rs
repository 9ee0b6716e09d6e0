//! A small seeded generator: xoshiro256** seeded through SplitMix64, with uniform floats,
//! unbiased integer ranges and Box-Muller normals. Not the Python side's stream (SCENES.md: the
//! two implementations share the distribution, not the random numbers).

/// SplitMix64: used to expand a 64-bit seed into xoshiro's state (and on its own in tests).
#[derive(Clone, Debug)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// xoshiro256** (Blackman and Vigna).
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
    /// The second normal of the last Box-Muller pair.
    spare: Option<f64>,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut sm = SplitMix64(seed);
        Self { s: [sm.next_u64(), sm.next_u64(), sm.next_u64(), sm.next_u64()], spare: None }
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1), 53 random bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform integer in lo..=hi (Lemire's multiply-shift with rejection: no modulo bias).
    pub fn int(&mut self, lo: i64, hi: i64) -> i64 {
        assert!(lo <= hi, "empty range {lo}..={hi}");
        let span = (hi - lo) as u64 + 1;
        if span == 0 {
            return self.next_u64() as i64; // the whole i64 range
        }
        let threshold = span.wrapping_neg() % span;
        loop {
            let m = self.next_u64() as u128 * span as u128;
            if (m as u64) >= threshold {
                return lo + (m >> 64) as i64;
            }
        }
    }

    /// Uniform index in 0..n (n >= 1).
    pub fn index(&mut self, n: usize) -> usize {
        self.int(0, n as i64 - 1) as usize
    }

    /// Standard normal (Box-Muller; the pair's second value is kept for the next call).
    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let u1 = 1.0 - self.unit(); // (0, 1]: ln is finite
        let u2 = self.unit();
        let radius = (-2.0 * u1.ln()).sqrt();
        let angle = 2.0 * std::f64::consts::PI * u2;
        self.spare = Some(radius * angle.sin());
        radius * angle.cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_the_published_sequence() {
        // Reference values of SplitMix64 from seed 0 (Vigna's splitmix64.c).
        let mut sm = SplitMix64(0);
        assert_eq!(sm.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(sm.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn deterministic_and_seed_dependent() {
        let a: Vec<u64> = (0..8).scan(Rng::new(7), |r, _| Some(r.next_u64())).collect();
        let b: Vec<u64> = (0..8).scan(Rng::new(7), |r, _| Some(r.next_u64())).collect();
        let c: Vec<u64> = (0..8).scan(Rng::new(8), |r, _| Some(r.next_u64())).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn ranges_and_moments() {
        let mut r = Rng::new(1);
        let n = 200_000;
        let mut hits = [0usize; 41];
        let (mut sum, mut sq) = (0.0, 0.0);
        for _ in 0..n {
            let k = r.int(-20, 20);
            assert!((-20..=20).contains(&k));
            hits[(k + 20) as usize] += 1;
            let u = r.uniform(70.0, 190.0);
            assert!((70.0..190.0).contains(&u));
            let z = r.normal();
            sum += z;
            sq += z * z;
        }
        // Every value of -20..=20 appears about n/41 times.
        assert!(hits.iter().all(|&h| (h as f64 - n as f64 / 41.0).abs() < 0.1 * n as f64 / 41.0), "{hits:?}");
        let mean = sum / n as f64;
        let var = sq / n as f64 - mean * mean;
        assert!(mean.abs() < 0.01 && (var - 1.0).abs() < 0.02, "mean {mean} var {var}");
        assert_eq!(Rng::new(3).int(5, 5), 5);
    }
}
