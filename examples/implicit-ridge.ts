import { array, implicitArgmin, initEngine, jax, np, scalar, toNumber, tree, zeros, type Arr, type Tree } from "bilevel";

await initEngine({ dtype: "float64" });
const sq = (a: Arr) => a.ref.mul(a).sum(); // ||a||^2
const [Xtr, ytr] = [array([1, 0.5, 0.2, 1, 1, -1, -0.5, 0.3], [4, 2]), array([1, 2, 0, -1])];
const [Xva, yva] = [array([0.8, 0.1, -0.3, 1], [2, 2]), array([0.7, 1.5])];

// w*(lam) = argmin_w 1/2 ||Xtr w - ytr||^2 + lam/2 ||w||^2: 50 gradient steps forward, the implicit
// function theorem backward (CG on the lower-level Hessian).
const ridge = implicitArgmin(
  (lam: Tree, w: Tree) => sq(np.matmul(Xtr.ref, (w as Arr).ref).sub(ytr.ref)).add((lam as Arr).mul(sq(w as Arr))).mul(0.5),
  { init: (lam) => (tree.dispose(lam), zeros([2])), steps: 50, lr: 0.3, linear: { method: "cg", iters: 2 } },
);
const validation = (lam: Arr) => sq(np.matmul(Xva.ref, ridge(lam) as Arr).sub(yva.ref)).mul(0.5);
const implicit = await toNumber(jax.jit(jax.grad(validation))(scalar(0.5)));

// Closed form: w = H^-1 Xtr' ytr with H = Xtr'Xtr + lam I, and dw/dlam = -H^-1 w.
const H = np.matmul(Xtr.ref.transpose(), Xtr.ref).add(np.eye(2).mul(0.5));
const w = np.linalg.solve(H.ref, np.matmul(Xtr.ref.transpose(), ytr.ref).reshape([2, 1]));
const dw = np.linalg.solve(H, w.ref).neg();
const exact = await toNumber(np.matmul(Xva.ref, w).reshape([2]).sub(yva).mul(np.matmul(Xva, dw).reshape([2])).sum());
console.log(`d validation / d lam: implicit ${implicit.toExponential(9)}, closed form ${exact.toExponential(9)}`);
