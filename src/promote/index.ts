// Promotion of deployments from one stack's specs to the next (modelplane promote).
export { CARRIED, planPromotion, PromotionError, rebase, TARGET_OWNED, type PlannedFile, type PromotionInput, type PromotionPlan, type SpecFile } from "./plan";
