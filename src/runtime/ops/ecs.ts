/** True when running as an ECS task (Fargate sets this for every container). */
export function onEcs(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env['ECS_CONTAINER_METADATA_URI_V4'] ?? '') !== '';
}
