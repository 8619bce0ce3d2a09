// Types of plan.js for the repository's TypeScript tests (k6 itself runs the .js).
export declare const MIX: Record<string, number>;
export declare const SERVICE_OF: Record<string, string>;
export declare const LOGIN_LIMITS: { perUsername: number; perIp: number; windowSeconds: number };
export declare function ratesPerMinute(totalPerSecond: number): Record<string, number>;
export declare function loginLimitProblem(totalPerSecond: number, users: number): string | null;
export declare function scenariosFor(
  totalPerSecond: number,
  duration: string
): Record<string, { executor: string; exec: string; rate: number; timeUnit: string; duration: string }>;
