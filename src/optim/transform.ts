/**
 * Gradient transformations on pytrees, in optax's form (Babuschkin et al., "The DeepMind JAX Ecosystem",
 * 2020): a transformation maps a gradient to an update direction and carries a state pytree; `chain`
 * composes them; an {@link Optimizer} applies params <- params - lr * direction. All functions borrow
 * their arguments (they never consume them) and work inside compiled steps, where the state is part of
 * the solver's state. Formulas:
 *   momentum  m <- mu m + g,  d = m                      (heavy ball, as torch.optim.SGD with momentum)
 *   nesterov  m <- mu m + g,  d = g + mu m               (torch's nesterov=True)
 *   adam      m <- b1 m + (1-b1) g,  v <- b2 v + (1-b2) g^2,  d = m_hat / (sqrt(v_hat) + eps),
 *             m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t)   (Kingma & Ba 2015)
 *   clipByNorm  d = g / max(1, ||g|| / c)         addDecayedWeights  d = g + wd params (AdamW's decoupled decay)
 */
import { np, scalar, tree, type Arr, type Tree } from "../engine/index.js";

/** A gradient transformation: `update` maps a gradient (and state) to a direction and the next state. */
export interface GradientTransformation<S extends Tree | undefined = Tree | undefined> {
  /** The state for parameters shaped like `params` (borrowed); `undefined` when stateless. */
  init(params: Tree): S;
  /** The direction for gradient `g` and the next state (all borrowed; results are fresh); `params` for those that need them. */
  update(g: Tree, state: S, params?: Tree): { direction: Tree; state: S };
}

/** The identity (plain gradient steps). */
export const identity = (): GradientTransformation<undefined> => ({
  init: () => undefined,
  update: (g) => ({ direction: tree.scale(1, g), state: undefined }),
});

/** Heavy-ball momentum m <- mu m + g (direction m), or Nesterov's g + mu m with `nesterov`. */
export function traceMomentum(mu: number, nesterov = false): GradientTransformation<Tree> {
  return {
    init: (params) => tree.zerosLike(params),
    update(g, m) {
      const next = tree.axpy(mu, m, g);
      return { direction: nesterov ? tree.axpy(mu, next, g) : tree.scale(1, next), state: next };
    },
  };
}

type AdamState = { m: Tree; v: Tree; t: Arr };

/**
 * Adam's scaling m_hat / (sqrt(v_hat + epsRoot) + eps) with bias corrections (t counts updates).
 * `epsRoot` > 0 (optax's eps_root) keeps derivatives through the update finite where v = 0, for
 * differentiating through an unrolled loop.
 */
export function scaleByAdam(b1 = 0.9, b2 = 0.999, eps = 1e-8, epsRoot = 0): GradientTransformation<AdamState> {
  return {
    init: (params) => ({ m: tree.zerosLike(params), v: tree.zerosLike(params), t: scalar(0) }),
    update(g, s) {
      const t = s.t.ref.add(1);
      const m = tree.axpy(1 - b1, g, tree.scale(b1, s.m));
      const v = tree.add(tree.scale(b2, s.v), tree.map((u) => u.ref.mul(u).mul(1 - b2), g));
      const c1 = np.exp(t.ref.mul(Math.log(b1))).neg().add(1); // 1 - b1^t
      const c2 = np.exp(t.ref.mul(Math.log(b2))).neg().add(1); // 1 - b2^t
      const root = (vv: Arr) => (epsRoot > 0 ? vv.div(c2.ref).add(epsRoot) : vv.div(c2.ref));
      const direction = tree.map((mm, vv) => mm.div(c1.ref).div(np.sqrt(root(vv)).add(eps)), m, v);
      c1.dispose();
      c2.dispose();
      return { direction, state: { m, v, t } };
    },
  };
}

/** Scale the direction to norm at most `c`: g / max(1, ||g|| / c). */
export function clipByNorm(c: number): GradientTransformation<undefined> {
  return {
    init: () => undefined,
    update(g) {
      const f = np.maximum(tree.norm(g).div(c), 1);
      return { direction: tree.map((u) => u.div(f.ref), g), state: (f.dispose(), undefined) };
    },
  };
}

/**
 * d = g + wd params (optax's add_decayed_weights; after scaleByAdam and times lr it is AdamW's decoupled
 * weight decay). `mask(key)` limits it to those top-level keys of an object-shaped tree.
 */
export function addDecayedWeights(wd: number, mask?: (key: string) => boolean): GradientTransformation<undefined> {
  return {
    init: () => undefined,
    update(g, _s, params) {
      if (!params) throw new Error("addDecayedWeights: update needs the parameters");
      if (!mask) return { direction: tree.axpy(wd, params, g), state: undefined };
      const [gg, pp] = [g as Record<string, Tree>, params as Record<string, Tree>];
      const direction = Object.fromEntries(Object.keys(gg).map((k) => [k, mask(k) ? tree.axpy(wd, pp[k], gg[k]) : tree.scale(1, gg[k])]));
      return { direction, state: undefined };
    },
  };
}

/** Apply transformations in order; the state is the list of their states. */
export function chain(...ts: GradientTransformation[]): GradientTransformation<Tree> {
  return {
    init: (params) => ts.map((t) => t.init(params) ?? []) as Tree,
    update(g, states, params) {
      const list = states as Tree[];
      let d = g;
      const next: Tree[] = [];
      ts.forEach((t, i) => {
        const r = t.update(d, (Array.isArray(list[i]) && (list[i] as Tree[]).length === 0 ? undefined : list[i]) as never, params);
        d = r.direction;
        next.push((r.state ?? []) as Tree);
      });
      return { direction: d, state: next };
    },
  };
}

/** An optimizer: params <- params - lr * direction, with the direction from a transformation. */
export interface Optimizer<S extends Tree | undefined = Tree | undefined> {
  /** The name it was made from (`sgd`, `momentum`, `nesterov`, `adam`, or `custom`). */
  name: string;
  init(params: Tree): S;
  /**
   * One step at learning rate `lr` (a number or a scalar array; e.g. a schedule's value): returns the
   * new parameters and state. Borrows everything.
   */
  update(params: Tree, grad: Tree, state: S, lr: number | Arr): { params: Tree; state: S };
}

const negLr = (lr: number | Arr): number | Arr => (typeof lr === "number" ? -lr : lr.ref.neg()); // borrows lr

/** An optimizer from a transformation (plain gradient steps when `t` is the identity). */
export function optimizer<S extends Tree | undefined>(name: string, t: GradientTransformation<S>): Optimizer<S> {
  const plain = name === "sgd";
  return {
    name,
    init: (params) => t.init(params),
    update(params, grad, state, lr) {
      const step = negLr(lr);
      if (plain) return { params: tree.axpy(step, grad, params), state }; // exactly x - lr g, as every solver computed it
      const r = t.update(grad, state, params);
      return { params: tree.axpy(step, r.direction, params), state: r.state };
    },
  };
}

/** Plain gradient steps. */
export const sgd = (): Optimizer<undefined> => optimizer("sgd", identity());
/** Heavy-ball momentum `mu` (default 0.9). */
export const momentum = (mu = 0.9): Optimizer<Tree> => optimizer("momentum", traceMomentum(mu));
/** Nesterov momentum `mu` (default 0.9). */
export const nesterov = (mu = 0.9): Optimizer<Tree> => optimizer("nesterov", traceMomentum(mu, true));
/** Adam (defaults 0.9, 0.999, 1e-8; `epsRoot` as in {@link scaleByAdam}). */
export const adam = (b1 = 0.9, b2 = 0.999, eps = 1e-8, epsRoot = 0): Optimizer<AdamState> => optimizer("adam", scaleByAdam(b1, b2, eps, epsRoot));
