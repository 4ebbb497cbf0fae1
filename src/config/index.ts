/**
 * The container configuration: environment variables → a checked {@link ContainerConfig}, shared
 * by `sluice start` and the ECS deployment in deploy/.
 *
 * @module
 */
export { CONFIG_VARIABLES, SECRET_VARIABLES, configReference, type ConfigVariable, type ConfigVariableName } from './variables.js';
export { DEFAULTS, loadContainerConfig, splitSinks, type ConfigResources, type ContainerConfig, type LoadOptions } from './container.js';
export { PLANNED_SCHEMES, checkpointResource, plannedScheme, sinkResource, sourceResource, type CheckpointResource, type KafkaResource, type KinesisResource, type Resource } from './resources.js';
