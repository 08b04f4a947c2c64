import type { Backend, Scope } from "../../backends/backend";
import { DicomWebError } from "../errors";
import { level } from "../wado/resources";

/**
 * Deletes a study, series or instance: index rows and objects together.
 * PS3.18 defines no DELETE on these resources (removal goes through
 * Rejection Notes); archives answer it as microsoft/dicom-server and
 * dcm4chee do, 204 when gone and 404 when there was nothing.
 */
export async function deleteResource(backend: Backend, scope: Scope): Promise<Response> {
  const removed = await backend.delete(scope);
  if (removed === 0) throw new DicomWebError(404, `no ${level(scope)} ${scope.instance ?? scope.series ?? scope.study}`);
  return new Response(null, { status: 204 });
}
