/**
 * B-Pref's scripted teachers (Lee, Smith, Dragan, Abbeel 2021, "B-Pref: Benchmarking Preference-Based
 * Reinforcement Learning", Sec. 3.2): a label for a pair of segments from their true rewards r_1, r_2
 * (one per step). With the myopic discount gamma, R_j = sum_t gamma^(L-1-t) r_j,t (later steps weigh
 * more; gamma = 1 is the plain return):
 *   skip     no label when max(sum r_1, sum r_2) < thresSkip            (the query is asked but unlabelled)
 *   equal    label 0.5 when |sum r_1 - sum r_2| < thresEqual
 *   rational label 1 (segment 1 preferred) with probability sigmoid(beta (R_1 - R_2)); beta = Infinity
 *            is the deterministic R_1 > R_2 (ties 0.5)
 *   mistake  the label is flipped with probability epsMistake
 * The six teachers: oracle (beta = Inf), noisy (B-Pref's "Stoc", beta = 1), mistake (eps 0.1), skip and
 * equal (delta 0.1: the thresholds are 0.1 x the average true segment return, set by the caller as in
 * B-Pref's training loop), myopic (gamma 0.9).
 */
import { BilevelInputError } from "../errors.js";

export const TEACHERS = ["oracle", "noisy", "mistake", "skip", "myopic", "equal"] as const;
export type TeacherName = (typeof TEACHERS)[number];

export interface Teacher {
  beta: number;
  gamma: number;
  epsMistake: number;
  /** Fraction of the average segment return below which a pair is skipped (0 = never). */
  epsSkip: number;
  /** Fraction of the average segment return within which a pair is labelled equal (0 = never). */
  epsEqual: number;
}

export function teacher(name: string): Teacher {
  const base: Teacher = { beta: Infinity, gamma: 1, epsMistake: 0, epsSkip: 0, epsEqual: 0 };
  switch (name) {
    case "oracle":
      return base;
    case "noisy":
      return { ...base, beta: 1 };
    case "mistake":
      return { ...base, epsMistake: 0.1 };
    case "skip":
      return { ...base, epsSkip: 0.1 };
    case "myopic":
      return { ...base, gamma: 0.9 };
    case "equal":
      return { ...base, epsEqual: 0.1 };
  }
  throw new BilevelInputError(`teacher: expected one of ${TEACHERS.join(", ")}, got '${name}'`);
}

/**
 * The teacher's label for segments with true rewards r1, r2 (equal lengths): 1, 0, 0.5 (equal) or null
 * (skipped). `avgSegmentReturn` scales the skip / equal thresholds.
 */
export function teacherLabel(t: Teacher, r1: ArrayLike<number>, r2: ArrayLike<number>, avgSegmentReturn: number, rand: () => number): number | null {
  let s1 = 0;
  let s2 = 0;
  let m1 = 0;
  let m2 = 0;
  const L = r1.length;
  for (let i = 0; i < L; i++) {
    s1 += r1[i];
    s2 += r2[i];
    const w = t.gamma ** (L - 1 - i);
    m1 += w * r1[i];
    m2 += w * r2[i];
  }
  if (t.epsSkip > 0 && Math.max(s1, s2) < t.epsSkip * avgSegmentReturn) return null;
  if (t.epsEqual > 0 && Math.abs(s1 - s2) < t.epsEqual * avgSegmentReturn) return 0.5;
  let y: number;
  if (t.beta === Infinity) y = m1 > m2 ? 1 : m1 < m2 ? 0 : 0.5;
  else {
    const z = t.beta * (m1 - m2);
    y = rand() < (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z))) ? 1 : 0;
  }
  if (t.epsMistake > 0 && y !== 0.5 && rand() < t.epsMistake) y = 1 - y;
  return y;
}
