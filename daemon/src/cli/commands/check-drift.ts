// check-drift: compare the kernel with the config now, repair differences and list what was repaired.
import { type Command, print } from '../command.js';

export const checkDrift: Command = async ({ client, json }) => {
  const response = await client.checkDrift();
  if (json)
    print(
      JSON.stringify({
        repaired: response.repaired.map((r) => ({ step: r.step, findings: r.findings })),
      }),
    );
  else if (response.repaired.length === 0) print('no drift: the kernel holds the applied config');
  else
    for (const r of response.repaired)
      print(`${r.step}: repaired\n${r.findings.map((f) => `  ${f}`).join('\n')}`);
  return 0;
};
