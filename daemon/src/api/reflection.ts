// Server reflection (grpc.reflection.v1 and v1alpha, via @grpc/reflection) fed with the exact file
// descriptors buf compiled into the generated code, under their real names and with all their
// dependencies. (proto-loader's re-derived descriptors are not accepted by strict clients such as
// `buf curl`.)
import type { Server } from '@grpc/grpc-js';
import { type DescFile, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { ReflectionService } from '@grpc/reflection';
import { file_health_v1_health } from '../gen/health/v1/health_pb.js';
import { file_vrouter_v1_service } from '../gen/vrouter/v1/service_pb.js';

function withDependencies(roots: readonly DescFile[]): DescFile[] {
  const seen = new Map<string, DescFile>();
  const visit = (file: DescFile): void => {
    if (seen.has(file.name)) return;
    seen.set(file.name, file);
    file.dependencies.forEach(visit);
  };
  roots.forEach(visit);
  return [...seen.values()];
}

export function addReflection(server: Server): void {
  const fileDescriptorProtos = withDependencies([file_vrouter_v1_service, file_health_v1_health]).map((f) =>
    Buffer.from(toBinary(FileDescriptorProtoSchema, f.proto)),
  );
  // ReflectionService reads `fileDescriptorProtos` from every entry of a proto-loader-shaped definition.
  const definition = { all: { fileDescriptorProtos, format: 'Protocol Buffer 3 FileDescriptorProto' } };
  new ReflectionService(
    definition as unknown as ConstructorParameters<typeof ReflectionService>[0],
  ).addToServer(server);
}
