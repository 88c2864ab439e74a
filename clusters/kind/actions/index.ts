/** The creation actions in order. Nothing after `create cluster` may run before it; the tests hold the order. */
import type { KindAction } from './context.js';
import { checkTools } from './check-tools.js';
import { prepareImages } from './prepare-images.js';
import { prepareCalico } from './prepare-calico.js';
import { writeConfig } from './write-config.js';
import { createCluster } from './create-cluster.js';
import { installCalico } from './install-calico.js';
import { waitReady } from './wait-ready.js';
import { loadImages } from './load-images.js';
import { startBackend } from './start-backend.js';
import { prepareIscsi } from './prepare-iscsi.js';
import { installCredentials } from './install-credentials.js';
import { installDriver } from './install-driver.js';
import { installProvisioner } from './install-provisioner.js';

export const ACTIONS: readonly KindAction[] = [
  checkTools,
  prepareCalico,
  prepareImages,
  writeConfig,
  createCluster,
  installCalico,
  waitReady,
  loadImages,
  startBackend,
  prepareIscsi,
  installCredentials,
  installDriver,
  installProvisioner,
];
