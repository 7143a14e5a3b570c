// Run by the published packages' `prepack`: only pnpm packs them right. It rewrites their `catalog:`
// and `workspace:` dependencies to versions and applies `publishConfig` (exports of `dist/`); npm
// does neither, and its tarball cannot be installed (`Unsupported URL Type "catalog:"`).
const agent = process.env.npm_config_user_agent ?? '';
if (!agent.startsWith('pnpm/')) {
  console.error(
    `${process.env.npm_package_name ?? 'this package'}: pack and publish it with pnpm (pnpm pack, pnpm publish), not ${agent.split(' ')[0] || 'this tool'}: ` +
      'only pnpm rewrites its catalog:/workspace: dependencies and applies publishConfig.',
  );
  process.exit(1);
}
