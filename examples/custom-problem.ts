import { initEngine, solve, toNumber, zeros, type Arr, type BilevelProblem } from "bilevel";

await initEngine(); // start jax-js (wasm backend, float32)
const half = (a: Arr) => a.ref.mul(a).sum().mul(0.5); // 1/2 ||a||^2 (`a.ref`: a is used twice)

// min_x 1/2 (y - 2)^2 + 1/2 x^2   where   y = argmin_y 1/2 (y - x)^2.   Optimum: x = y = 1.
const problem: BilevelProblem<Arr, Arr> = {
  name: "shifted-quadratic",
  upper: (x, y) => half(y.sub(2)).add(half(x)),
  lower: (x, y) => half(y.sub(x)),
  init: () => ({ x: zeros([1]), y: zeros([1]) }),
};
const result = await solve(problem, "aid-cg", { steps: 300 });
const [x, y] = [await toNumber(result.x), await toNumber(result.y)]; // result: SolveResult<Arr, Arr>
console.log(`${result.status}: x = ${x.toFixed(4)}, y = ${y.toFixed(4)}, F = ${result.final.upper.toFixed(4)}`);
