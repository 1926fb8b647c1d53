export { ControlPlane, validateControlPlaneArgs, type ControlPlaneArgs } from "./control-plane";
export { OnlineDeployment, type OnlineDeploymentArgs } from "./online-deployment";
export { OnlineEndpoint, validateOnlineEndpointArgs, type OnlineEndpointArgs } from "./online-endpoint";
