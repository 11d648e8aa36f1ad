export { signCertificate, tbsCertificate, pem, ipBytes, type CertificateSpec } from './cert.ts'
