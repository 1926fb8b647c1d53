// Verification requests of a stack (stacks/<stack>/verify/*.yml): parsing, comparing, running.
export { loadVerifyDir, parseVerifyFile, type VerifyCheck } from "./checks";
export { answerDifference } from "./compare";
export { checkLabel, runChecks, type CheckResult, type ScoreAnswer } from "./run";
