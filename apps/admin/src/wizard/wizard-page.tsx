export default function WizardPage() {
  return null;
}
